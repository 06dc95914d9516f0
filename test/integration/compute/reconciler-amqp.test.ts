// The reconciler over RabbitMQ and Postgres: every stuck kind converges; the advisory-lock election; late originals.
import { reconcilerElectionSuite, reconcilerSuite } from './reconciler';

reconcilerSuite('amqp');
reconcilerElectionSuite('amqp');
