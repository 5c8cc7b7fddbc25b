// Holding out validation data, two ways: the last fraction of the tokens (our default: any corpus, also a
// memory-mapped token file), or — as the book does in chapter 5 — the last fraction of the characters, each
// part tokenized on its own, so the book's numbers can be compared with ours on the book's data token for token.

import Tokenizers

/// The last `valFraction` of the tokens held out for validation.
public func splitTokens(_ tokens: TokenStore, valFraction: Double) -> (train: TokenStore, validation: TokenStore) {
    let cut = Int(Double(tokens.count) * (1 - valFraction))
    return (tokens.subrange(0..<cut), tokens.subrange(cut..<tokens.count))
}

/// The book's split (chapter 5): the text cut at `int(0.9 * len(text))` characters (Unicode scalars, as
/// Python counts them), then each part tokenized on its own, so the validation text starts a fresh sequence.
public func splitCharacters(_ text: String, valFraction: Double, encoding: Encoding) throws -> (train: TokenStore, validation: TokenStore) {
    try splitCharacters(text, valFraction: valFraction) { TokenStore(try encoding.encode($0, allowedSpecial: .all)) }
}

/// The same cut, each part tokenized by `tokenize` (a BERT's WordPiece, say).
public func splitCharacters(_ text: String, valFraction: Double,
                            tokenize: (String) throws -> TokenStore) rethrows -> (train: TokenStore, validation: TokenStore) {
    let scalars = text.unicodeScalars
    let cut = scalars.index(scalars.startIndex, offsetBy: Int(Double(scalars.count) * (1 - valFraction)))
    return (try tokenize(String(scalars[..<cut])), try tokenize(String(scalars[cut...])))
}
