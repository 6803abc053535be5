import { describe, expect, it } from 'vitest';
import { defaultUiUrl, loadClientConfig, workflowUrl } from '../../client/config.js';

describe('client configuration', () => {
  it.each([
    ['localhost:7233', 'http://localhost:8233'],
    ['127.0.0.1:17933', 'http://127.0.0.1:18933'],
    ['[::1]:7300', 'http://[::1]:8300'],
    ['temporal.example.com:7233', 'http://localhost:8233'],
    ['127.0.0.1:65000', 'http://localhost:8233'],
  ])('links the Web UI of a dev server at %s to %s (port + 1000 on this machine)', (address, url) => {
    expect(defaultUiUrl(address)).toBe(url);
    expect(loadClientConfig({ TEMPORAL_ADDRESS: address }).uiUrl).toBe(url);
  });

  it('takes TEMPORAL_UI_URL as given, without a trailing slash, and builds rollout links from it', () => {
    const config = loadClientConfig({
      TEMPORAL_ADDRESS: 'localhost:7233',
      TEMPORAL_UI_URL: 'https://ui.example.com/',
    });
    expect(config.uiUrl).toBe('https://ui.example.com');
    expect(workflowUrl(config, 'fw 2')).toBe('https://ui.example.com/namespaces/default/workflows/fw%202');
  });

  it('names TEMPORAL_UI_URL when it is not an http(s) URL', () => {
    expect(() => loadClientConfig({ TEMPORAL_UI_URL: 'ftp://ui' })).toThrow(
      /TEMPORAL_UI_URL="ftp:\/\/ui": must be an http\(s\) URL/,
    );
  });
});
