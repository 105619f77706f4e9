import { checkDestination, DestinationRefusedError, refusedRange, type DestinationPolicy, type Resolver } from '../../src/platform/http/outbound';

/**
 * The destination policy without any connection: literal addresses in every numeric form, names resolved by an injected
 * resolver (nothing here asks a real DNS server), the allow-list and the test-only loopback override.
 */
const PUBLIC_V4 = '93.184.215.14';
const PUBLIC_V6 = '2606:2800:21f:cb07:6820:80da:af6b:8b2c';
const answers = (map: Record<string, string[]>): Resolver => async (host) => {
  const a = map[host];
  if (!a) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return a.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};
const policy = (o: Partial<DestinationPolicy> = {}): DestinationPolicy => ({ allowHttp: false, allowedHosts: [], resolve: answers({}), ...o });

async function refusal(url: string, p: DestinationPolicy) {
  const e = await checkDestination(url, p).then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(DestinationRefusedError);
  const r = e as DestinationRefusedError;
  expect({ code: r.code, status: r.status }).toEqual({ code: 'DESTINATION_REFUSED', status: 400 });
  return r;
}

describe('refusedRange', () => {
  it.each([
    ['127.0.0.1', 'loopback'], ['127.255.0.9', 'loopback'], ['::1', 'loopback'],
    ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'], ['fe80::1', 'link-local'], ['fd00:ec2::254', 'unique-local'], ['fc00::1', 'unique-local'],
    ['0.0.0.0', 'unspecified'], ['0.1.2.3', 'unspecified'], ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'], ['239.255.255.250', 'multicast'], ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'], ['240.0.0.1', 'reserved'],
    ['100.64.0.1', 'shared (CGNAT)'], ['198.18.0.1', 'benchmarking'], ['192.0.2.5', 'documentation'], ['2001:db8::1', 'documentation'],
    ['::ffff:127.0.0.1', 'loopback'], ['::ffff:7f00:1', 'loopback'], ['0:0:0:0:0:ffff:a00:1', 'private'], ['::ffff:169.254.169.254', 'link-local'],
    ['64:ff9b::7f00:1', 'loopback'], ['64:ff9b::a9fe:a9fe', 'link-local'], ['::127.0.0.1', 'IPv4-compatible (deprecated)'],
    ['2002:7f00:1::1', '6to4'], ['2001::1', 'IETF protocol assignments'], ['fec0::1', 'site-local (deprecated)'], ['4000::1', 'reserved'],
  ])('%s is %s', (address, range) => {
    expect(refusedRange(address)).toBe(range);
  });

  it.each([PUBLIC_V4, '8.8.8.8', '1.1.1.1', PUBLIC_V6, '::ffff:93.184.215.14', '64:ff9b::808:808', '2a00:1450:4001:80b::200e'])('%s is public', (address) => {
    expect(refusedRange(address)).toBeNull();
  });

  it('calls anything that is not an address literal invalid', () => {
    expect(refusedRange('localhost')).toBe('invalid');
    expect(refusedRange('0x7f000001')).toBe('invalid');
    expect(refusedRange('fe80::1%eth0')).toBe('invalid');
  });
});

describe('checkDestination', () => {
  it.each([
    'https://127.0.0.1/', 'https://0x7f000001/', 'https://2130706433/', 'https://017700000001/', 'https://127.1/', 'https://0177.0.0.01/',
    'https://[::1]/', 'https://[::ffff:127.0.0.1]/', 'https://[0:0:0:0:0:ffff:7f00:1]/', 'https://[64:ff9b::127.0.0.1]/',
    'https://169.254.169.254/latest/meta-data/', 'https://0xa9fea9fe/', 'https://10.0.0.1:5432/', 'https://192.168.0.1/', 'https://[fd12::1]/',
    'https://[fe80::1]/', 'https://0/', 'https://0.0.0.0/', 'https://[::]/', 'https://224.0.0.1/', 'https://100.64.1.1/',
  ])('refuses the literal %s, naming the range', async (url) => {
    const r = await refusal(url, policy());
    expect(r.reason).toBe('address');
    expect(r.range).toEqual(expect.any(String));
    expect(r.details).toEqual({ reason: 'address', range: r.range });
  });

  it('refuses localhost and its subdomains without asking a resolver', async () => {
    const resolve = jest.fn(answers({}));
    for (const u of ['https://localhost/', 'https://LOCALHOST./x', 'https://a.b.localhost/']) {
      expect((await refusal(u, policy({ resolve }))).reason).toBe('unresolvable');
    }
    expect(resolve).not.toHaveBeenCalled();
  });

  it('refuses a name that resolves to a private address, or to a public and a private one, and says no more than "not public"', async () => {
    const resolve = answers({ 'hooks.example.com': ['10.0.0.7'], 'mixed.example.com': [PUBLIC_V4, '127.0.0.1'], 'v6.example.com': ['::ffff:10.0.0.7'] });
    for (const u of ['https://hooks.example.com/h', 'https://mixed.example.com/h', 'https://v6.example.com/h', 'https://nxdomain.example.com/']) {
      const r = await refusal(u, policy({ resolve }));
      // Whether a name does not resolve or resolves to an internal address reads the same: no oracle on internal DNS.
      expect(r.details).toEqual({ reason: 'unresolvable' });
    }
  });

  it('accepts a name with only public addresses and pins the first', async () => {
    const resolve = jest.fn(answers({ 'hooks.example.com': [PUBLIC_V6, PUBLIC_V4] }));
    const d = await checkDestination('https://hooks.example.com:8443/notices?x=1', policy({ resolve }));
    expect(d).toMatchObject({ address: PUBLIC_V6, family: 6 });
    expect(d.url.host).toBe('hooks.example.com:8443');
    expect(resolve).toHaveBeenCalledTimes(1);
    expect(await checkDestination(`https://${PUBLIC_V4}/`, policy())).toMatchObject({ address: PUBLIC_V4, family: 4 });
  });

  it('requires https unless http is allowed, and refuses other schemes and credentials in the URL', async () => {
    const resolve = answers({ 'hooks.example.com': [PUBLIC_V4] });
    expect((await refusal('http://hooks.example.com/', policy({ resolve }))).reason).toBe('scheme');
    await expect(checkDestination('http://hooks.example.com/', policy({ resolve, allowHttp: true }))).resolves.toMatchObject({ address: PUBLIC_V4 });
    for (const u of ['ftp://hooks.example.com/', 'file:///etc/passwd', 'gopher://hooks.example.com/']) {
      expect((await refusal(u, policy({ resolve, allowHttp: true }))).reason).toBe('scheme');
    }
    expect((await refusal('https://user:pw@hooks.example.com/', policy({ resolve }))).reason).toBe('credentials');
    expect((await refusal('not a url', policy())).reason).toBe('invalid_url');
  });

  it('lets the operator allow internal receivers by name, subdomain or range, never multicast or unspecified addresses', async () => {
    const resolve = answers({ 'hooks.corp.example': ['10.20.0.5'], 'a.b.corp.example': ['10.20.9.9'], 'other.example': ['10.20.0.6'], 'mc.corp.example': ['224.0.0.9'] });
    const p = policy({ resolve, allowedHosts: ['hooks.corp.example', '*.b.corp.example', '192.168.7.0/24', '*.corp.example'] });
    await expect(checkDestination('https://hooks.corp.example/h', p)).resolves.toMatchObject({ address: '10.20.0.5' });
    await expect(checkDestination('https://a.b.corp.example/h', p)).resolves.toMatchObject({ address: '10.20.9.9' });
    await expect(checkDestination('https://192.168.7.20/h', p)).resolves.toMatchObject({ address: '192.168.7.20' });
    await refusal('https://192.168.8.20/h', p);
    await refusal('https://other.example/h', p);
    await refusal('https://mc.corp.example/h', p);
  });

  it('with the test-only override reaches loopback and nothing else, not even a public address', async () => {
    const resolve = answers({ 'hooks.test': ['127.0.0.1'], 'public.test': [PUBLIC_V4], 'private.test': ['10.0.0.1'] });
    const p = policy({ resolve, allowHttp: true, allowLoopbackForTests: true });
    await expect(checkDestination('http://hooks.test:8080/h', p)).resolves.toMatchObject({ address: '127.0.0.1', family: 4 });
    await expect(checkDestination('http://[::1]:8080/h', p)).resolves.toMatchObject({ address: '::1', family: 6 });
    await refusal('http://public.test/h', p);
    await refusal(`http://${PUBLIC_V4}/h`, p);
    await refusal('http://private.test/h', p);
  });
});
