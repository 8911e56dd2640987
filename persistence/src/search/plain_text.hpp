#pragma once
/// The words of a message body as search sees them: Chatwork notation removed.

#include <string>
#include <string_view>

namespace hibiki::persistence::search {

/// `body` with every notation tag the clients render (`[To:id]`, `[toall]`, `[rp aid=.. to=..]`,
/// `[qt]`, `[qtmeta ..]`, `[info]`, `[title]`, `[code]`, `[hr]`, `[picon:id]`,
/// `[piconname:id]`, `[download:id]`, their closing tags) replaced by a space; the text between
/// tags (quoted text, a file's name, a title) stays. Anything else that looks like a tag is text.
std::string plain_text(std::string_view body);

}  // namespace hibiki::persistence::search
