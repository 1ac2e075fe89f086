import type { Route } from './router';
import type { StandinState } from './state';

// The presigned R2 GET URLs of requests' source images and masks, handed to bridges with the
// `r2_source` capability instead of base64 (HORDE-PROTOCOL §2.3): `/source/<request id>-<field>.webp?sig=…`.
// Answers as an S3-style store does: 403 for a wrong signature, 404 for a key it does not hold.

/** An S3-style XML error. */
function s3Error(status: number, code: string, message: string) {
  const raw = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  return { status, body: null, raw, headers: { 'Content-Type': 'application/xml' } };
}

const getSource: Route<StandinState> = {
  method: 'GET',
  pattern: ':file',
  handle(req, state) {
    const board = state.board;
    const match = /^([0-9a-f-]{36})-(source_image|source_mask)\.webp$/.exec(req.params.file ?? '');
    const key = match ? `${match[1]}-${match[2]}` : '';
    if (!match || req.query.get('sig') !== board.signature(key)) {
      return s3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    }
    board.counters.sourceDownloads += 1;
    const failure = state.faults.takeSourceFailure();
    if (failure !== undefined) return s3Error(failure, 'InternalError', 'We encountered an internal error. Please try again.');
    const stored = board.sources.get(match[1] as string, match[2] as 'source_image' | 'source_mask');
    if (!stored) return s3Error(404, 'NoSuchKey', 'The specified key does not exist.');
    return { status: 200, body: null, raw: stored.stored, headers: { 'Content-Type': 'image/webp' } };
  },
};

/** The source downloads, mounted under `/source`. */
export const sourceRoutes: readonly Route<StandinState>[] = [getSource];
