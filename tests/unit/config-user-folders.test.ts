import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DOCUMENTED_FOLDERS, defaultConfigFile, userFolders } from '../../src/config/user-folders.js';

describe('userFolders', () => {
  it('follows XDG variables, and the macOS and Windows conventions', () => {
    assert.deepEqual(userFolders({ HOME: '/h', XDG_DATA_HOME: '/d', XDG_CONFIG_HOME: '/c' }, 'linux'), {
      data: '/d/chilly-movies',
      config: '/c/chilly-movies',
    });
    assert.deepEqual(userFolders({ HOME: '/Users/a' }, 'darwin'), {
      data: '/Users/a/Library/Application Support/chilly-movies',
      config: '/Users/a/Library/Preferences/chilly-movies',
    });
    const windows = userFolders({ USERPROFILE: 'C:\\Users\\a', APPDATA: '/roaming', LOCALAPPDATA: '/local' }, 'win32');
    assert.equal(windows.data, path.join('/local', 'chilly-movies', 'Data'));
    assert.equal(windows.config, path.join('/roaming', 'chilly-movies', 'Config'));
  });

  it('documents the Linux folders it uses when no XDG variable is set', () => {
    const home = '/home/ana';
    const underHome = (documented: string): string => {
      assert.ok(documented.startsWith('~/'), documented);
      return path.join(home, documented.slice(2));
    };
    assert.equal(userFolders({ HOME: home }, 'linux').data, underHome(DOCUMENTED_FOLDERS.dataDir));
    assert.equal(defaultConfigFile({ HOME: home }, 'linux'), underHome(DOCUMENTED_FOLDERS.configFile));
  });
});
