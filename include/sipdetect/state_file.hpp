// sipdetect: saving detector state to a file atomically, and loading it.
//
// save_state_file() writes a temporary file beside the target, flushes it
// to disk, then renames it over the target. A crash at any moment leaves
// either the previous state or the new one, never a mix.
#pragma once

#include <sipdetect/errors.hpp>
#include <sipdetect/version.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#define SIPDETECT_HAVE_FSYNC 1
#endif

SIPDETECT_NAMESPACE_BEGIN

namespace detail {

inline void write_file_durably(const std::filesystem::path& path, const std::string& bytes) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) throw state_error("cannot create " + path.string());
    bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() && std::fflush(f) == 0;
#if defined(SIPDETECT_HAVE_FSYNC)
    ok = ok && ::fsync(::fileno(f)) == 0;
#endif
    ok = std::fclose(f) == 0 && ok;
    if (!ok) {
        std::error_code ignored;
        std::filesystem::remove(path, ignored);
        throw state_error("cannot write " + path.string());
    }
}

} // namespace detail

// Saves `detector` to `path` atomically. Throws state_error on failure, in
// which case `path` is untouched.
template <class Detector>
void save_state_file(const Detector& detector, const std::filesystem::path& path) {
    std::ostringstream image;
    detector.save(image);
    std::filesystem::path temp = path;
    temp += ".tmp";
    detail::write_file_durably(temp, std::move(image).str());
    std::error_code ec;
    std::filesystem::rename(temp, path, ec);
    if (ec) {
        std::filesystem::remove(temp, ec);
        throw state_error("cannot replace " + path.string() + ": " + ec.message());
    }
}

// Loads `path` into `detector` if the file exists; returns false if it does
// not. A defective file throws state_error naming the file, and the
// detector is left as it was.
template <class Detector>
bool load_state_file(Detector& detector, const std::filesystem::path& path, load_report* report = nullptr) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (!std::filesystem::exists(path)) return false;
        throw state_error(path.string() + ": cannot open");
    }
    try {
        load_report r = detector.load(in);
        if (report != nullptr) *report = std::move(r);
    } catch (const state_error& e) {
        throw state_error(path.string() + ": " + e.what());
    }
    return true;
}

SIPDETECT_NAMESPACE_END
