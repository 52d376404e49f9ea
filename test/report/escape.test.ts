import { csvField, escapeHtml, escapeMarkdown, markdownCode } from '../../lambda/engine/report/escape';

describe('escapeHtml', () => {
  it('escapes the five characters that end text or an attribute', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });
});

describe('csvField', () => {
  it.each([
    ['=HYPERLINK("http://evil")', `"'=HYPERLINK(""http://evil"")"`],
    ['+1+1', "'+1+1"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\t=1', "'\t=1"],
    ['\r=1', `"'\r=1"`],
  ])('neutralises the formula %j', (input, expected) => {
    expect(csvField(input)).toBe(expected);
  });

  it('quotes commas, quotes and line breaks (RFC 4180) and leaves plain text and numbers alone', () => {
    expect(csvField('Cloudflare, Inc.')).toBe('"Cloudflare, Inc."');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('a\nb')).toBe('"a\nb"');
    expect(csvField('example.com')).toBe('example.com');
    expect(csvField(-5)).toBe('-5');
    expect(csvField(null)).toBe('');
  });
});

describe('escapeMarkdown', () => {
  it('leaves no table pipe, code, link, image or HTML markup', () => {
    const out = escapeMarkdown('a|b `c` [x](http://e) ![i](j) <img src=x onerror=alert(1)> *em* _u_\nnext');
    expect(out).toBe('a\\|b \\`c\\` \\[x\\](http://e) \\!\\[i\\](j) &lt;img src=x onerror=alert(1)&gt; \\*em\\* \\_u\\_ next');
  });
});

describe('markdownCode', () => {
  it('fences with more backticks than the text holds and escapes pipes', () => {
    expect(markdownCode('evil.com')).toBe('`evil.com`');
    expect(markdownCode('a``b|c')).toBe('```a``b\\|c```');
    expect(markdownCode('`x')).toBe('`` `x ``');
  });
});
