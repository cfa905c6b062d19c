// sipdetect: saving detector state to a file atomically, and loading it.
// Not part of <sipdetect/sipdetect.hpp>: include it where files are saved.
//
// save_state_file() writes a uniquely named temporary file beside the
// target, flushes it to disk, renames it over the target and flushes the
// directory. A crash at any moment leaves either the previous state or the
// new one, never a mix; two savers of one path do not collide.
#pragma once

#include <sipdetect/detail/durable_file.hpp>
#include <sipdetect/errors.hpp>
#include <sipdetect/version.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <istream>
#include <ostream>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

SIPDETECT_NAMESPACE_BEGIN

namespace detail {

// A file holding several detectors is a bundle: magic "SIPDBNDL", format
// version u16 (1), detector count u16, then per detector its state image
// preceded by its length as u64, all little-endian. One detector's file is
// just its state image.
inline constexpr std::string_view state_bundle_magic = "SIPDBNDL";

inline void write_le(std::ostream& out, std::uint64_t v, int bytes) {
    char b[8];
    for (int i = 0; i < bytes; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xffu);
    out.write(b, bytes);
}

// Reads `bytes` little-endian bytes, or throws `truncated`.
inline std::uint64_t read_le(std::istream& in, int bytes, const char* truncated) {
    char b[8];
    in.read(b, bytes);
    if (in.gcount() != bytes) throw state_error(truncated);
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(b[i]);
    return v;
}

// Writes the bundle: each image's length is written once the image is, in
// the place kept for it, so nothing is held in memory.
template <class... Detectors> void write_bundle(std::ostream& out, const Detectors&... detectors) {
    out.write(detail::state_bundle_magic.data(), static_cast<std::streamsize>(detail::state_bundle_magic.size()));
    write_le(out, 1, 2);
    write_le(out, sizeof...(Detectors), 2);
    auto add = [&](const auto& d) {
        const std::streampos length_at = out.tellp();
        write_le(out, 0, 8);
        d.save(out);
        const std::streampos end = out.tellp();
        if (length_at == std::streampos(-1) || end == std::streampos(-1)) throw state_error("cannot write state bundle");
        out.seekp(length_at);
        write_le(out, static_cast<std::uint64_t>(end - length_at) - 8, 8);
        out.seekp(end);
    };
    (add(detectors), ...);
}

// Checks a bundle's header against the detectors it should hold (oldest to
// expected of them); returns how many it holds.
inline std::size_t read_bundle_header(std::istream& in, std::size_t oldest, std::size_t expected) {
    char magic[detail::state_bundle_magic.size()];
    in.read(magic, static_cast<std::streamsize>(sizeof magic));
    if (in.gcount() != static_cast<std::streamsize>(sizeof magic) ||
        std::string_view(magic, sizeof magic) != detail::state_bundle_magic)
        throw state_error("not a sipdetect state bundle (bad magic or truncated header)");
    const char* truncated = "not a sipdetect state bundle (bad magic or truncated header)";
    const auto version = read_le(in, 2, truncated);
    if (version != 1) throw state_error("unsupported state bundle version " + std::to_string(version));
    const auto count = read_le(in, 2, truncated);
    if (count < oldest || count > expected)
        throw state_error("state bundle holds " + std::to_string(count) + " detectors, expected " +
                          (oldest == expected ? std::to_string(expected)
                                              : std::to_string(oldest) + " to " + std::to_string(expected)));
    return static_cast<std::size_t>(count);
}

} // namespace detail

// Saves the detectors to `path` atomically (one detector: its state image;
// several: a bundle). Throws state_error on failure, leaving `path` untouched.
template <class... Detectors>
void save_state_file(const std::filesystem::path& path, const Detectors&... detectors) {
    static_assert(sizeof...(Detectors) >= 1);
    detail::replace_file_durably(path, [&](std::ostream& out) {
        if constexpr (sizeof...(Detectors) == 1) (detectors.save(out), ...);
        else detail::write_bundle(out, detectors...);
    });
}

// As load_state_file_reporting(), for a program that added detectors over
// time: a bundle saved before the last ones were added, holding only the
// first `oldest` or more of them, loads into those, and the others start
// fresh (with their configuration and clock).
template <class... Detectors>
bool load_state_file_upgrading(const std::filesystem::path& path, load_report* report, std::size_t oldest,
                               Detectors&... detectors) {
    static_assert(sizeof...(Detectors) >= 1);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (!std::filesystem::exists(path)) return false;
        throw state_error(path.string() + ": cannot open");
    }
    try {
        constexpr bool bundle = sizeof...(Detectors) > 1;
        std::size_t saved = 1;
        if constexpr (bundle) saved = detail::read_bundle_header(in, oldest, sizeof...(Detectors));
        // Load each image into a fresh detector first; commit only when all succeeded.
        std::size_t number = 0;
        auto fresh_loaded = [&](auto& d) {
            using D = std::remove_reference_t<decltype(d)>;
            ++number;
            if (number > saved) return D(d.config(), d.clock());
            const std::string which = "state bundle detector " + std::to_string(number);
            std::uint64_t length = 0;
            if constexpr (bundle) length = detail::read_le(in, 8, (which + " truncated before its length").c_str());
            const std::streampos start = in.tellg();
            D loaded(d.config(), d.clock());
            load_report r = loaded.load(in);
            if (bundle && static_cast<std::uint64_t>(in.tellg() - start) != length)
                throw state_error(which + ": its length disagrees with its image");
            if (report != nullptr)
                report->config_differences.insert(report->config_differences.end(), r.config_differences.begin(),
                                                  r.config_differences.end());
            return loaded;
        };
        // Braced initialisation evaluates left to right, so images are read in order.
        std::tuple<std::remove_reference_t<Detectors>...> loaded{fresh_loaded(detectors)...};
        if (in.peek() != std::char_traits<char>::eof())
            throw state_error(bundle ? "state bundle has trailing bytes" : "state has trailing bytes after the checksum");
        if (in.bad()) throw state_error("read error");
        std::apply([&](auto&... fresh) { ((detectors = std::move(fresh)), ...); }, loaded);
    } catch (const state_error& e) {
        throw state_error(path.string() + ": " + e.what());
    }
    return true;
}

// As load_state_file(); config differences of every detector are appended to *report.
template <class... Detectors>
bool load_state_file_reporting(const std::filesystem::path& path, load_report* report, Detectors&... detectors) {
    return load_state_file_upgrading(path, report, sizeof...(Detectors), detectors...);
}

// Loads `path` into the detectors if the file exists; returns false if it
// does not. All or nothing: a defective file throws state_error naming the
// file, and every detector is left as it was.
template <class... Detectors>
bool load_state_file(const std::filesystem::path& path, Detectors&... detectors) {
    return load_state_file_reporting(path, nullptr, detectors...);
}

SIPDETECT_NAMESPACE_END
