/**
 * S3 entity tags come quoted in HTTP headers and listings (`"9b2cf535f27731c974343645a3985328"`)
 * but unquoted in S3 event notifications; the adapters hand out the unquoted form.
 */

/** Removes the double quotes around an entity tag, if present. */
export function unquoteEtag(etag: string | undefined): string | undefined {
  return etag?.replace(/^"(.*)"$/, '$1');
}

/** Adds the double quotes `If-Match` needs, unless already there. */
export function quoteEtag(etag: string): string {
  return etag.startsWith('"') ? etag : `"${etag}"`;
}
