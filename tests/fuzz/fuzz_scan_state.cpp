// Fuzz target: scan_detector::load() on arbitrary state images (and, for
// inputs that start like a state bundle, load_state_file() with both
// detectors). See state_harness.hpp for what is checked.
#include "state_harness.hpp"

#include <sipdetect/state_file.hpp>

namespace {

sipdetect::scan_config small_scan_config() {
    sipdetect::scan_config c; // hash_seed unset: an image brings its own
    c.threshold = 3;
    c.max_tracked = 64;
    c.max_distinct = 16;
    c.evidence_targets = 4;
    c.max_user_agents = 2;
    c.event_idle_timeout = std::chrono::minutes(10);
    c.update_interval = std::chrono::minutes(1);
    c.source_idle_timeout = std::chrono::hours(1);
    return c;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (text.starts_with(sipdetect::detail::state_bundle_magic)) {
        fuzz::load_bundle<sipdetect::scan_detector<fuzz::message_record>,
                          sipdetect::proxy_detector<fuzz::message_record>>(std::string(text));
        return 0;
    }
    static const sipdetect::scan_config small = small_scan_config();
    fuzz::raw_and_fixed(data, size, [](const std::string& image) {
        fuzz::exercise_state<sipdetect::scan_detector<fuzz::message_record, sipdetect::manual_clock>>(
            image, sipdetect::scan_config{});
        fuzz::exercise_state<sipdetect::scan_detector<fuzz::message_record, fuzz::live_clock>>(image, small);
    });
    return 0;
}
