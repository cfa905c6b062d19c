// The sipdetect program's live loop, without a network: the record feeder
// that the file run and the live loop share, record time advanced by the
// wall clock while the input is idle (idle_clock), and run_live() over
// scripted sources. Wall time points are made up, never waited for.
#include "catch.hpp"

#include "sipdetect/event_output.hpp"
#include "sipdetect/idle_clock.hpp"
#include "sipdetect/live_loop.hpp"
#include "sipdetect/readers.hpp"
#include "sipdetect/record_feeder.hpp"

#include <sipdetect/json.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

using namespace sipdetect_cli;
using namespace std::chrono_literals;
using sipdetect::record_time;

namespace {

// Keeps every event as its JSON line.
struct collecting_printer {
    std::vector<std::string> lines;
    template <class Event> void operator()(const std::vector<Event>& events) {
        for (const Event& e : events) lines.push_back(sipdetect::to_json(e));
    }
};

std::vector<input_record> demo_records() {
    auto reader = open_reader(SIPDETECT_SOURCE_DIR "/examples/data/demo.pcap");
    std::vector<input_record> records;
    for (input_record r; reader->next(r);) records.push_back(r);
    return records;
}

sipdetect::proxy_config reporting_proxies() {
    sipdetect::proxy_config config;
    config.closed_season = record_time::duration::zero();
    return config;
}

// The events of the records fed through record_feeder, with feed_pending()
// also called after every `extra_feed_every` records (0: never), as the live
// loop does before a checkpoint or an idle poll; then flushed.
std::vector<std::string> events_of(const std::vector<input_record>& records, std::size_t extra_feed_every) {
    scan_type scans;
    proxy_type proxies(reporting_proxies());
    campaign_type campaigns;
    collecting_printer print;
    record_feeder feeder({scans, proxies, campaigns}, print);
    for (std::size_t i = 0; i < records.size(); ++i) {
        feeder.slot() = records[i];
        feeder.commit();
        if (extra_feed_every != 0 && (i + 1) % extra_feed_every == 0) feeder.feed_pending();
    }
    feeder.feed_pending();
    CHECK(feeder.analysed() == records.size());
    print(scans.flush());
    print(proxies.flush());
    return print.lines;
}

const idle_clock::wall_clock::time_point wall_start{std::chrono::hours(1000)};

} // namespace

TEST_CASE("record_feeder: feeding the batch early, at any record, changes no event") {
    const std::vector<input_record> records = demo_records();
    REQUIRE(records.size() > 100);
    const std::vector<std::string> reference = events_of(records, 0);
    REQUIRE(reference.size() == 5); // two scans, each start and end, and a new proxy
    for (const std::size_t every : {1u, 2u, 7u, 100u, 1023u})
        CHECK(events_of(records, every) == reference);
}

TEST_CASE("record_feeder: polls at the first record of each new second of record time") {
    scan_type scans;
    proxy_type proxies;
    campaign_type campaigns;
    collecting_printer print;
    record_feeder feeder({scans, proxies, campaigns}, print);
    const auto at = [&](double seconds) {
        feeder.slot().time = sipdetect::record_time_from_micros(static_cast<std::int64_t>(seconds * 1e6));
        feeder.commit();
    };
    at(10.0); // the first record is a new second: fed and polled at once
    CHECK(feeder.analysed() == 1);
    at(10.5);
    at(10.9);
    CHECK(feeder.analysed() == 1); // same second: waiting in the batch
    CHECK(feeder.taken() == 3);
    at(11.0);
    CHECK(feeder.analysed() == 4);
    CHECK(scans.stats().records == 4);
}

TEST_CASE("idle_clock: no advance while records keep coming less than a second apart") {
    idle_clock idle(wall_start);
    const record_time newest = sipdetect::record_time_from_micros(1'700'000'000'000'000);
    for (auto t = wall_start; t < wall_start + 60s; t += 900ms) {
        idle.record_arrived(t);
        CHECK_FALSE(idle.advance(t + 899ms, newest).has_value());
    }
}

TEST_CASE("idle_clock: after a second idle, the newest record time plus the wall time idle, once per wall second") {
    idle_clock idle(wall_start);
    const record_time newest = sipdetect::record_time_from_micros(1'700'000'000'000'000);
    idle.record_arrived(wall_start);
    CHECK_FALSE(idle.advance(wall_start + 999ms, newest).has_value());
    CHECK(idle.advance(wall_start + 1500ms, newest) == newest + 1500ms);
    CHECK_FALSE(idle.advance(wall_start + 2400ms, newest).has_value()); // less than a second since the last advance
    CHECK(idle.advance(wall_start + 2500ms, newest) == newest + 2500ms);
    CHECK(idle.advance(wall_start + 2h, newest) == newest + 2h);
    // A record ends the idleness: a second must pass again.
    idle.record_arrived(wall_start + 2h + 1s);
    CHECK_FALSE(idle.advance(wall_start + 2h + 1500ms, newest + 2h).has_value());
    CHECK(idle.advance(wall_start + 2h + 3s, newest + 2h) == newest + 2h + 2s);
}

TEST_CASE("idle_clock: nothing to advance before the first record time") {
    idle_clock idle(wall_start);
    CHECK_FALSE(idle.advance(wall_start + 10s, record_time::min()).has_value());
}

TEST_CASE("idle_clock: a scan ends after its idle timeout with no traffic at all, and not before") {
    const std::vector<input_record> records = demo_records();
    scan_type scans;
    proxy_type proxies(reporting_proxies());
    campaign_type campaigns;
    collecting_printer print;
    record_feeder feeder({scans, proxies, campaigns}, print);
    idle_clock idle(wall_start);
    for (const input_record& r : records) {
        feeder.slot() = r;
        feeder.commit();
    }
    feeder.feed_pending();
    idle.record_arrived(wall_start);
    const auto idle_poll = [&](idle_clock::wall_clock::duration after) {
        const auto advanced = idle.advance(wall_start + after, std::max(scans.watermark(), proxies.watermark()));
        REQUIRE(advanced.has_value());
        scans.clock().set(*advanced);
        proxies.clock().set(*advanced);
        feeder.poll();
    };
    const auto count = [&](const std::string& what) {
        std::size_t n = 0;
        for (const std::string& line : print.lines) n += line.find(what) != std::string::npos;
        return n;
    };
    idle_poll(2s); // the starts, and the proxy once its answers have had their time
    CHECK(count("\"event\":\"start\"") == 2);
    CHECK(count("\"event\":\"end\"") == 0);
    idle_poll(59min);
    CHECK(count("\"event\":\"end\"") == 0);
    // The scans' last requests are a few seconds before the newest record:
    // an hour (event_idle_timeout) of idle wall time ends both.
    idle_poll(61min);
    CHECK(count("\"event\":\"end\"") == 2);
    CHECK(count("\"event\":\"new_proxy\"") == 1);
}

namespace {

// A live source that gives its records, then ends, or fails with `failure`.
class scripted_source final : public live_source {
public:
    scripted_source(std::vector<input_record> records, std::optional<std::string> failure)
        : records_(std::move(records)), failure_(std::move(failure)) {}
    pull next(input_record& out) override {
        if (given_ < records_.size()) {
            out = records_[given_++];
            ++counters_.records;
            return pull::record;
        }
        if (failure_) throw input_exception(input_error{"scripted", "", *failure_});
        return pull::ended;
    }
    int wait_fd() const noexcept override { return -1; }
    reader_counters counters() const override { return counters_; }
    std::string name() const override { return "scripted"; }

private:
    std::vector<input_record> records_;
    std::optional<std::string> failure_;
    std::size_t given_ = 0;
    reader_counters counters_;
};

input_record request_at(record_time t, const char* from) {
    input_record r;
    r.time = t;
    r.src = sipdetect::ip_address::parse("192.0.2.1");
    r.dst = sipdetect::ip_address::parse("192.0.2.2");
    r.src_port = r.dst_port = 5060;
    r.method = sipdetect::sip_method::options;
    r.from_uri = from;
    return r;
}

} // namespace

TEST_CASE("run_live: reads every source to its end, counts a failed one, and refuses records dated beyond the clock skew") {
    const record_time now =
        std::chrono::time_point_cast<sipdetect::record_duration>(std::chrono::system_clock::now());
    options opt;
    opt.status_interval = 0;
    std::vector<std::unique_ptr<live_source>> sources;
    // A hostile record dated a year ahead first: analysed, it would make every later record late.
    sources.push_back(std::make_unique<scripted_source>(
        std::vector<input_record>{request_at(now + std::chrono::hours(24 * 365), "sip:a@example.com"),
                                  request_at(now - 2s, "sip:b@example.com"), request_at(now - 1s, "sip:c@example.com")},
        std::nullopt));
    sources.push_back(std::make_unique<scripted_source>(
        std::vector<input_record>{request_at(now - 1s, "sip:d@example.com")}, std::string("cut short")));
    scan_type scans;
    proxy_type proxies;
    campaign_type campaigns;
    event_printer print(sipdetect_cli::output_options{});
    const live_result result = run_live(opt, sources, {scans, proxies, campaigns}, print);
    CHECK(sources.empty()); // both ended: the loop stopped by itself
    CHECK(result.analysed == 3);
    CHECK(result.input.records == 4);
    CHECK(result.input.beyond_clock_skew == 1);
    CHECK(result.input_failure == std::optional<std::string>("scripted: cut short"));
    CHECK(scans.stats().records == 3);
    CHECK(scans.stats().late_dropped == 0);
    CHECK(scans.watermark() == now - 1s);
}
