/** Every error this package throws on bad input: the message starts with where it happened. */
export class TokenizerError extends Error {
  override readonly name = 'TokenizerError';
}

export function fail(where: string, message: string): never {
  throw new TokenizerError(`${where}: ${message}`);
}
