/** The server's effective settings (secrets masked by the server), its engine, and its checks. */
import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { describeError, getSettings, type ServerCheck, type ServerSettings } from '../api.js';
import { ErrorMessage } from '../components/error-message.js';
import { ScreenTitle } from '../components/screen-title.js';
import { SpeedLimitsForm } from '../components/speed-limits-form.js';

const LEVEL_WORDS: Record<ServerCheck['level'], string> = { ok: 'OK', warn: 'Warning', fail: 'Problem' };
const LEVEL_MARKS: Record<ServerCheck['level'], string> = { ok: '✓', warn: '!', fail: '✗' };

export function SettingsScreen() {
  const [settings, setSettings] = useState<ServerSettings>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    getSettings().then(setSettings, (failure: unknown) => setError(describeError(failure)));
  }, []);

  return (
    <>
      <ScreenTitle>Settings</ScreenTitle>
      <ErrorMessage message={error} />
      {settings === undefined ? (
        error === undefined && <p class="muted">Loading the settings…</p>
      ) : (
        <>
          <section aria-labelledby="checks-heading">
            <h2 id="checks-heading">Checks</h2>
            {settings.checks.length === 0 ? (
              <p class="muted">No checks reported.</p>
            ) : (
              <ul class="checks">
                {settings.checks.map((check) => (
                  <li key={check.check} class={`check-${check.level}`}>
                    <span class="check-mark" aria-hidden="true">
                      {LEVEL_MARKS[check.level]}
                    </span>
                    <span>
                      <strong>
                        {check.check}: <span class="level">{LEVEL_WORDS[check.level]}</span>
                      </strong>{' '}
                      — {check.detail}
                    </span>
                  </li>
                ))}
              </ul>
            )}
          </section>
          <section aria-labelledby="limits-heading">
            <h2 id="limits-heading">Speed limits</h2>
            <SpeedLimitsForm engine={settings.engine} />
          </section>
          <section aria-labelledby="engine-heading">
            <h2 id="engine-heading">Engine: {settings.engine.name}</h2>
            <dl class="capabilities">
              {Object.entries(settings.engine.capabilities).map(([name, able]) => (
                <div key={name}>
                  <dt>{CAPABILITY_WORDS[name] ?? name}</dt>
                  <dd>{able ? 'Yes' : 'No'}</dd>
                </div>
              ))}
            </dl>
          </section>
          <section aria-labelledby="settings-heading">
            <h2 id="settings-heading">Settings in effect</h2>
            <p class="hint">
              Set them in the environment or the config file where <code>chilly serve</code> runs (
              <code>chilly config</code> says where each comes from), then restart it. Secrets are never shown.
            </p>
            <div class="table-wrap">
              <table class="settings">
                <thead>
                  <tr>
                    <th scope="col">Setting</th>
                    <th scope="col">Value</th>
                  </tr>
                </thead>
                <tbody>
                  {Object.entries(settings.settings).map(([key, value]) => (
                    <tr key={key}>
                      <th scope="row">
                        <code>{breakAfterDots(key)}</code>
                      </th>
                      <td>{settingText(value)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        </>
      )}
    </>
  );
}

/** `seeding.ratio` → `seeding.`, a break opportunity, `ratio`. */
function breakAfterDots(key: string) {
  return key.split('.').map((part, index, parts) => (
    <Fragment key={part}>
      {part}
      {index < parts.length - 1 && (
        <>
          .<wbr />
        </>
      )}
    </Fragment>
  ));
}

const CAPABILITY_WORDS: Record<string, string> = {
  streaming: 'Watch while it downloads',
  fileSelection: 'Choose files',
  sequentialPieces: 'Download in order',
  resumeData: 'Resume without a full check',
  localFiles: 'Files on this computer',
  rateLimits: 'Speed limits',
  recheck: 'Check data again',
  peerList: 'Peer list',
  moveData: 'Move data',
  trackerList: 'Tracker list',
};

function settingText(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (Array.isArray(value)) return value.length === 0 ? '—' : value.map(settingText).join(', ');
  if (typeof value === 'object') {
    const entries = Object.entries(value);
    return entries.length === 0 ? '—' : entries.map(([key, item]) => `${key} = ${settingText(item)}`).join(', ');
  }
  return String(value);
}
