// Live migration over RabbitMQ and Postgres, the completion timeout's actions, and a destination unreachable after Perform.
import { liveMigrationSuite, liveMigrationTimeouts, liveMigrationUnreachableDestination } from './live-migration';

liveMigrationSuite('amqp');
liveMigrationTimeouts('amqp');
liveMigrationUnreachableDestination('amqp');
