// What a process running the API answers a scrape with: its own registry (RPC, reconcilers, Node) and the database's figures.
import type { DataSource } from 'typeorm';
import { scrapeProcessMetrics } from '@ferry/common/metrics';
import { scrapeDatabaseMetrics } from './database-metrics';

export async function scrapeApiMetrics(ds: DataSource): Promise<string> {
  const [own, database] = await Promise.all([scrapeProcessMetrics(), scrapeDatabaseMetrics(ds)]);
  return own + database;
}
