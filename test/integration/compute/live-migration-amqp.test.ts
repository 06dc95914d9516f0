// Live migration over RabbitMQ and Postgres, and the completion timeout's actions.
import { liveMigrationSuite, liveMigrationTimeouts } from './live-migration';

liveMigrationSuite('amqp');
liveMigrationTimeouts('amqp');
