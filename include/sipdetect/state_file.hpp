// sipdetect: saving detector state to a file atomically, and loading it.
//
// save_state_file() writes a temporary file beside the target, flushes it
// to disk, then renames it over the target. A crash at any moment leaves
// either the previous state or the new one, never a mix.
#pragma once

#include <sipdetect/errors.hpp>
#include <sipdetect/version.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

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

// A file holding several detectors is a bundle: magic "SIPDBNDL", format
// version u16 (1), detector count u16, then per detector its state image
// preceded by its length as u64, all little-endian. One detector's file is
// just its state image.
inline constexpr std::string_view state_bundle_magic = "SIPDBNDL";

namespace detail {

inline void append_le(std::string& out, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xffu);
}

inline std::uint64_t read_le(std::string_view in, std::size_t at, int bytes) {
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(in[at + static_cast<std::size_t>(i)]);
    return v;
}

template <class Detector> std::string state_image(const Detector& d) {
    std::ostringstream out;
    d.save(out);
    return std::move(out).str();
}

// Splits a bundle into its images, or throws state_error.
inline std::vector<std::string_view> split_bundle(std::string_view file, std::size_t expected) {
    const std::size_t head = state_bundle_magic.size() + 4;
    if (file.size() < head || file.substr(0, state_bundle_magic.size()) != state_bundle_magic)
        throw state_error("not a sipdetect state bundle (bad magic or truncated header)");
    const auto version = read_le(file, 8, 2);
    if (version != 1) throw state_error("unsupported state bundle version " + std::to_string(version));
    const auto count = read_le(file, 10, 2);
    if (count != expected)
        throw state_error("state bundle holds " + std::to_string(count) + " detectors, expected " + std::to_string(expected));
    std::vector<std::string_view> images;
    std::size_t at = head;
    for (std::size_t i = 0; i < expected; ++i) {
        if (file.size() - at < 8) throw state_error("state bundle truncated before detector " + std::to_string(i + 1));
        const std::uint64_t length = read_le(file, at, 8);
        at += 8;
        if (length > file.size() - at) throw state_error("state bundle truncated inside detector " + std::to_string(i + 1));
        images.push_back(file.substr(at, static_cast<std::size_t>(length)));
        at += static_cast<std::size_t>(length);
    }
    if (at != file.size()) throw state_error("state bundle has trailing bytes");
    return images;
}

} // namespace detail

// Saves the detectors to `path` atomically (one detector: its state image;
// several: a bundle). Throws state_error on failure, leaving `path` untouched.
template <class... Detectors>
void save_state_file(const std::filesystem::path& path, const Detectors&... detectors) {
    static_assert(sizeof...(Detectors) >= 1);
    std::string file;
    if constexpr (sizeof...(Detectors) == 1) {
        file = (detail::state_image(detectors), ...);
    } else {
        file.append(state_bundle_magic);
        detail::append_le(file, 1, 2);
        detail::append_le(file, sizeof...(Detectors), 2);
        auto add = [&](const auto& d) {
            const std::string image = detail::state_image(d);
            detail::append_le(file, image.size(), 8);
            file += image;
        };
        (add(detectors), ...);
    }
    std::filesystem::path temp = path;
    temp += ".tmp";
    detail::write_file_durably(temp, file);
    std::error_code ec;
    std::filesystem::rename(temp, path, ec);
    if (ec) {
        std::filesystem::remove(temp, ec);
        throw state_error("cannot replace " + path.string() + ": " + ec.message());
    }
}

// As load_state_file(); config differences of every detector are appended to *report.
template <class... Detectors>
bool load_state_file_reporting(const std::filesystem::path& path, load_report* report, Detectors&... detectors) {
    static_assert(sizeof...(Detectors) >= 1);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (!std::filesystem::exists(path)) return false;
        throw state_error(path.string() + ": cannot open");
    }
    const std::string file{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) throw state_error(path.string() + ": read error");
    try {
        std::vector<std::string_view> images;
        if constexpr (sizeof...(Detectors) == 1) images.push_back(file);
        else images = detail::split_bundle(file, sizeof...(Detectors));
        // Load every image into a fresh detector first; commit only when all succeeded.
        std::size_t i = 0;
        auto fresh_loaded = [&](auto& d) {
            using D = std::remove_reference_t<decltype(d)>;
            D loaded(d.config(), d.clock());
            std::istringstream image{std::string(images[i++])};
            load_report r = loaded.load(image);
            if (report != nullptr)
                report->config_differences.insert(report->config_differences.end(), r.config_differences.begin(),
                                                  r.config_differences.end());
            return loaded;
        };
        // Braced initialisation evaluates left to right, so images are taken in order.
        std::tuple<std::remove_reference_t<Detectors>...> loaded{fresh_loaded(detectors)...};
        std::apply([&](auto&... fresh) { ((detectors = std::move(fresh)), ...); }, loaded);
    } catch (const state_error& e) {
        throw state_error(path.string() + ": " + e.what());
    }
    return true;
}

// Loads `path` into the detectors if the file exists; returns false if it
// does not. All or nothing: a defective file throws state_error naming the
// file, and every detector is left as it was.
template <class... Detectors>
bool load_state_file(const std::filesystem::path& path, Detectors&... detectors) {
    return load_state_file_reporting(path, nullptr, detectors...);
}

SIPDETECT_NAMESPACE_END
