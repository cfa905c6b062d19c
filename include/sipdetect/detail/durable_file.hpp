// sipdetect: replacing a file so that a crash leaves the old or the new
// content (state_file.hpp's implementation). The POSIX parts stay here.
#pragma once

#include <sipdetect/errors.hpp>
#include <sipdetect/version.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <system_error>

#if defined(__unix__) || defined(__APPLE__)
#include <cerrno>
#include <fcntl.h>
#include <unistd.h>
#endif

SIPDETECT_NAMESPACE_BEGIN
namespace detail {

// A temporary name beside `path` that no other saver of `path` picks: the
// process id (where there is one) and 64 random bits.
inline std::filesystem::path unique_temp_path(const std::filesystem::path& path) {
    static thread_local std::mt19937_64 draw{std::random_device{}()};
    std::string suffix = ".tmp.";
#if defined(__unix__) || defined(__APPLE__)
    suffix += std::to_string(::getpid()) + ".";
#endif
    constexpr char hex[] = "0123456789abcdef";
    for (std::uint64_t bits = draw(), i = 0; i < 16; ++i, bits >>= 4) suffix += hex[bits & 0xfu];
    std::filesystem::path temp = path;
    temp += suffix;
    return temp;
}

// Flushes the file or directory at `path` to the disk; false on failure.
// Filesystems that cannot sync a directory (EINVAL) count as synced.
inline bool sync_to_disk(const std::filesystem::path& path, bool directory) {
#if defined(__unix__) || defined(__APPLE__)
    const int fd = ::open(path.c_str(), directory ? O_RDONLY : O_WRONLY);
    if (fd < 0) return false;
    const bool synced = ::fsync(fd) == 0 || (directory && errno == EINVAL);
    return ::close(fd) == 0 && synced;
#else
    (void)path;
    (void)directory;
    return true;
#endif
}

// Writes `write(std::ostream&)` to a unique temporary file beside `path`,
// flushes it to the disk, renames it over `path`, then flushes the
// directory, so that the rename itself survives a crash. Throws
// state_error; on failure the temporary file is removed and `path` is
// left as it was.
template <class Write> void replace_file_durably(const std::filesystem::path& path, Write&& write) {
    const std::filesystem::path temp = unique_temp_path(path);
    std::error_code ignored;
    try {
        {
            std::ofstream out(temp, std::ios::binary | std::ios::trunc);
            if (!out) throw state_error("cannot create " + temp.string());
            write(out);
            out.close();
            if (!out) throw state_error("cannot write " + temp.string());
        }
        if (!sync_to_disk(temp, false)) throw state_error("cannot flush " + temp.string() + " to disk");
        std::error_code ec;
        std::filesystem::rename(temp, path, ec);
        if (ec) throw state_error("cannot replace " + path.string() + ": " + ec.message());
    } catch (...) {
        std::filesystem::remove(temp, ignored);
        throw;
    }
    const std::filesystem::path parent = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    if (!sync_to_disk(parent, true))
        throw state_error("replaced " + path.string() + " but cannot flush its directory to disk");
}

} // namespace detail
SIPDETECT_NAMESPACE_END
