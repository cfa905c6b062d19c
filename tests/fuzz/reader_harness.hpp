// The shared body of the reader fuzz targets: the input becomes a file, the
// reader reads it to the end. input_exception is an expected outcome; any
// other exception escapes and is a crash.
#pragma once

#include "fuzz_common.hpp"

#include "readers.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace fuzz {

inline void check_record(const sipdetect_cli::input_record& r, std::size_t input_size) {
    FUZZ_CHECK(r.status == 0 || (r.status >= 100 && r.status <= 699));
    FUZZ_CHECK(static_cast<std::size_t>(r.method) < sipdetect::sip_method_names.size());
    FUZZ_CHECK(r.sent_by == sipdetect::sender::source || r.sent_by == sipdetect::sender::destination);
    // Every text field is a piece of the input (escapes only shrink it).
    for (const std::string* s : {&r.request_uri, &r.from_uri, &r.to_uri, &r.user_agent})
        FUZZ_CHECK(s->size() <= input_size);
    FUZZ_CHECK(r.via_count <= input_size);
}

template <class Open>
int read_whole_file(const char* tag, const std::uint8_t* data, std::size_t size, Open&& open) {
    static const temp_file file(tag);
    file.write(data, size);

    // Format detection must not throw anything but input_exception either.
    try {
        (void)sipdetect_cli::detect_format(file.path());
    } catch (const sipdetect_cli::input_exception& e) {
        FUZZ_CHECK(!e.error().what.empty());
    }

    std::unique_ptr<sipdetect_cli::record_reader> reader;
    try {
        reader = open(file.path());
    } catch (const sipdetect_cli::input_exception& e) {
        FUZZ_CHECK(!e.error().what.empty());
        return 0;
    }
    FUZZ_CHECK(reader != nullptr);

    // The records go through both detectors, with caps small enough to churn.
    sipdetect::scan_config scan_cfg;
    scan_cfg.threshold = 3;
    scan_cfg.max_tracked = 16;
    scan_cfg.max_distinct = 8;
    sipdetect::proxy_config proxy_cfg;
    proxy_cfg.min_uris = 3;
    proxy_cfg.closed_season = std::chrono::seconds(1);
    proxy_cfg.max_candidates = 16;
    proxy_cfg.max_proxies = 4;
    sipdetect::scan_detector<sipdetect_cli::input_record> scan(scan_cfg);
    sipdetect::proxy_detector<sipdetect_cli::input_record> proxy(proxy_cfg);
    auto check_events = [&] {
        for (const auto& e : scan.poll()) check_event(e, scan_cfg, true);
        for (const auto& e : proxy.poll()) check_event(e, proxy_cfg, true);
    };

    sipdetect_cli::input_record r;
    std::uint64_t n = 0;
    bool failed = false;
    try {
        while (reader->next(r)) {
            ++n;
            FUZZ_CHECK(n <= 2 * std::uint64_t{size} + 2);
            check_record(r, size);
            scan.feed(r);
            proxy.feed(r);
            if (n % 64 == 0) check_events();
        }
    } catch (const sipdetect_cli::input_exception& e) {
        FUZZ_CHECK(!e.error().what.empty());
        FUZZ_CHECK(e.error().file == file.path().string());
        failed = true;
    }
    FUZZ_CHECK(reader->counters().records == n);
    if (verbose()) std::fprintf(stderr, "records: %llu%s\n", static_cast<unsigned long long>(n), failed ? " (then input_exception)" : "");
    if (failed) {
        // A failed reader stays failed.
        bool threw = false;
        try {
            (void)reader->next(r);
        } catch (const sipdetect_cli::input_exception&) {
            threw = true;
        }
        FUZZ_CHECK(threw);
    } else {
        FUZZ_CHECK(!reader->next(r)); // the end stays the end
    }
    check_events();
    for (const auto& e : scan.flush()) check_event(e, scan_cfg, true);
    for (const auto& e : proxy.flush()) check_event(e, proxy_cfg, true);
    return 0;
}

} // namespace fuzz
