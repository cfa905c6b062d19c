// sipdetect command-line program: where event lines go when they go to a file
// (--output FILE) or to standard output.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sipdetect_cli {

// An output that cannot be opened (the message names it and says why).
struct output_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class line_output {
public:
    line_output() = default; // standard output
    // Appends to `path`, creating it (mode 0640) when missing; throws output_error.
    explicit line_output(std::string path);
    ~line_output();
    line_output(const line_output&) = delete;
    line_output& operator=(const line_output&) = delete;

    // Writes `lines` (whole lines, each ending in \n) at once; false, after a
    // notice on stderr, when the system refused them (the caller counts them lost).
    bool write(std::string_view lines);

    // Opens the file's path again, for logrotate: the renamed file is closed
    // and a new one created. On failure the old file stays in use, and the
    // reason is returned. Standard output has nothing to reopen.
    std::optional<std::string> reopen();

    const std::optional<std::string>& path() const noexcept { return path_; }

private:
    std::optional<std::string> path_;
    int fd_ = 1;
    bool failing_ = false; // a write failed and was reported: report again only after one succeeds
};

} // namespace sipdetect_cli
