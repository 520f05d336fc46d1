import type { StorageSettings } from '../config.ts';
import { createLocalStorage } from './local-storage.ts';
import type { FileStorage } from './storage.ts';

// The configured storage driver (STORAGE_DRIVER), and a sentence for the startup log saying which.
export async function openStorage(settings: StorageSettings): Promise<{ storage: FileStorage; chosen: string }> {
  switch (settings.driver) {
    case 'local':
      return { storage: await createLocalStorage(settings.dir), chosen: `local directory ${settings.dir}` };
    case 's3':
      throw new Error('STORAGE_DRIVER=s3 is not available yet');
  }
}
