// Fuzz target: proxy_detector::load() on arbitrary state images. See
// state_harness.hpp for what is checked.
#include "state_harness.hpp"

namespace {

sipdetect::proxy_config small_proxy_config() {
    sipdetect::proxy_config c; // hash_seed unset: an image brings its own
    c.min_uris = 3;
    c.closed_season = std::chrono::minutes(10);
    c.time_to_death = std::chrono::hours(1);
    c.answer_grace = std::chrono::seconds(5);
    c.candidate_idle_timeout = std::chrono::minutes(10);
    c.max_candidates = 64;
    c.max_proxies = 8;
    c.uri_samples = 4;
    c.peer_samples = 4;
    c.max_user_agents = 2;
    return c;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const sipdetect::proxy_config small = small_proxy_config();
    fuzz::raw_and_fixed(data, size, [](const std::string& image) {
        fuzz::exercise_state<sipdetect::proxy_detector<fuzz::message_record, sipdetect::manual_clock>>(
            image, sipdetect::proxy_config{});
        fuzz::exercise_state<sipdetect::proxy_detector<fuzz::message_record, fuzz::live_clock>>(image, small);
    });
    return 0;
}
