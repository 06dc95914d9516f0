// DELETE in every task state over RabbitMQ and Postgres.
import { deleteDuringTasks } from './delete-during-tasks';

deleteDuringTasks('amqp');
