// Servers end to end over RabbitMQ.
import { serverLifecycle } from './server-lifecycle';

serverLifecycle('amqp');
