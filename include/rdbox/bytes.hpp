// Argv, the environment and paths are bytes, not text. These helpers carry them through
// rdbox's two text outputs without loss and without breaking them:
//  - JSON (docs/errors.md, "Bytes in JSON"): a string that is not UTF-8 is written as
//    Latin-1 (each byte b becomes the code point U+00bb), and its JSON Pointer is listed
//    in the top-level "byte_strings" array, so a reader can turn it back into bytes.
//  - Error lines: control characters are escaped, so one error is always one line.
#pragma once

#include <string>
#include <string_view>

namespace rdbox {

// Exactly RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_utf8(std::string_view s);
// Each byte as the code point of the same number, in UTF-8 (always valid UTF-8).
std::string latin1_to_utf8(std::string_view bytes);
// The inverse for text whose code points are all below U+0100; false otherwise.
bool utf8_to_latin1(std::string_view text, std::string& bytes);
// "/a~b" -> "a~0b"-style escaping of one JSON Pointer token (RFC 6901).
std::string json_pointer_token(std::string_view key);
// Control bytes (below 0x20, and 0x7f) as \n, \t, \r, \e or \xHH; a backslash stays one.
std::string one_line(std::string_view s);

}  // namespace rdbox
