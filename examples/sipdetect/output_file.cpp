// sipdetect command-line program: event lines to a file or standard output.
#include "output_file.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

namespace sipdetect_cli {
namespace {

// -1 with errno set when it cannot be opened.
int open_for_append(const std::string& path) {
    return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

} // namespace

line_output::line_output(std::string path) : path_(std::move(path)) {
    fd_ = open_for_append(*path_);
    if (fd_ < 0) throw output_error(fmt::format("--output {}: {}", *path_, std::strerror(errno)));
}

line_output::~line_output() {
    if (path_) ::close(fd_);
}

bool line_output::write(std::string_view lines) {
    while (!lines.empty()) {
        const ssize_t n = ::write(fd_, lines.data(), lines.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (!failing_)
                fmt::print(stderr, "sipdetect: cannot write events to {}: {}; they are counted as lost\n",
                           path_ ? *path_ : std::string("standard output"), n < 0 ? std::strerror(errno) : "nothing written");
            failing_ = true;
            return false;
        }
        lines.remove_prefix(static_cast<std::size_t>(n));
    }
    failing_ = false;
    return true;
}

std::optional<std::string> line_output::reopen() {
    if (!path_) return std::nullopt;
    const int fresh = open_for_append(*path_);
    if (fresh < 0) return fmt::format("cannot reopen {}: {}; still writing to the file open before", *path_, std::strerror(errno));
    ::close(fd_);
    fd_ = fresh;
    return std::nullopt;
}

} // namespace sipdetect_cli
