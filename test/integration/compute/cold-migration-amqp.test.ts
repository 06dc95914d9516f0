// Cold migration and resize over RabbitMQ and Postgres, and auto-confirm.
import { autoConfirm, coldMigration } from './cold-migration';

coldMigration('amqp');
autoConfirm('amqp');
