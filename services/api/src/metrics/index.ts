// Prometheus metrics of the API: the /metrics route and the scrape a metrics listener of an API process answers.
export { metricsRoutes } from './routes';
export { scrapeApiMetrics } from './scrape';
export { DOWNTIME_BUCKETS, DURATION_BUCKETS } from './database-metrics';
