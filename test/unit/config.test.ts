import path from 'node:path';
import { loadConfig } from '../../src/config';

describe('DATA_DIR', () => {
  it('resolves a folder to an absolute path and keeps memory:// as given (it is not a folder)', () => {
    expect(loadConfig({ DATA_DIR: 'data-x', LOG_LEVEL: 'silent' }).dataDir).toBe(path.resolve('data-x'));
    // Resolved, `memory://` became <cwd>/memory:, a folder the image key and an embedded database would be written into.
    expect(loadConfig({ DATA_DIR: 'memory://', LOG_LEVEL: 'silent' }).dataDir).toBe('memory://');
  });
});
