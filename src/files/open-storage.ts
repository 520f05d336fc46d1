import type { StorageSettings } from '../config.ts';
import { createLocalStorage } from './local-storage.ts';
import { createS3Storage, describeEndpoint } from './s3-storage.ts';
import type { FileStorage } from './storage.ts';

// The configured storage driver (STORAGE_DRIVER), and a sentence for the startup log saying which (never the
// credentials).
export async function openStorage(settings: StorageSettings): Promise<{ storage: FileStorage; chosen: string }> {
  switch (settings.driver) {
    case 'local':
      return { storage: await createLocalStorage(settings.dir), chosen: `local directory ${settings.dir}` };
    case 's3': {
      const prefix = settings.prefix ? ` (prefix ${settings.prefix})` : '';
      return { storage: await createS3Storage(settings), chosen: `S3 bucket ${settings.bucket} at ${describeEndpoint(settings)}${prefix}` };
    }
  }
}
