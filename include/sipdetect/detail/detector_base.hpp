// sipdetect: the machinery every detector shares, written once.
//
// A detector derives from detector_base<Derived, Record, Config, Stats,
// Clock, Allocator> (CRTP) and gets:
//  - its configuration (validated on construction), hash seed, clock and
//    allocator, the hostile-time gate, the time of its last sweep, its next
//    event id and its counters;
//  - the public calls every detector has: feed(record), feed(batch),
//    config(), clock(), watermark(), hash_seed();
//  - the hot path's first step, admit_record(): count the record and apply
//    the time rules (time_gate.hpp), counting what it drops;
//  - the sweep rhythm: sweep_due() is true at most once per period;
//  - the state head every detector's state begins with (configuration,
//    seed, time gate, last sweep, next event id, counters), written and read
//    by one pair of functions, and committed by one.
// What the detector itself defines: config_schema<Config> (its state kind,
// its configuration's field list and its saved counters), the pipeline
// stages feed_all() drives (feed_all.hpp), and everything that is its logic.
#pragma once

#include <sipdetect/clock.hpp>
#include <sipdetect/detail/detector_common.hpp>
#include <sipdetect/detail/state_io.hpp>
#include <sipdetect/detail/time_gate.hpp>
#include <sipdetect/errors.hpp>
#include <sipdetect/feed_all.hpp>
#include <sipdetect/record.hpp>
#include <sipdetect/version.hpp>

#include <cstdint>
#include <ostream>
#include <span>
#include <utility>

SIPDETECT_NAMESPACE_BEGIN
namespace detail {

// Specialised by each detector's implementation header with:
//   static constexpr state_kind kind;
//   static const auto& fields();   // the configuration's field list (detector_common.hpp)
//   static const auto& counters(); // the Stats members saved across restarts
template <class Config> struct config_schema;

// A state head part a detector does not have.
struct no_state_part {
    template <class W> void operator()(W&) const noexcept {}
};

// The head of a state as read, committed only when the whole state was read.
template <class Config, class Stats> struct loaded_head {
    load_report report;
    std::uint64_t hash_seed = 0;
    time_gate time;
    record_time newest{};
    record_time last_sweep{};
    std::uint64_t next_event_id = 1;
    Stats stats{};
};

template <class Derived, class Record, class Config, class Stats, class Clock, class Allocator>
class detector_base {
    static_assert(check_flow_record<Record>());

public:
    using record_type = Record;
    using clock_type = Clock;
    using allocator_type = Allocator;

    // Hot path: one flow record.
    void feed(const Record& record) {
        const record_view v = make_view(record);
        pipeline::lookup_type<Derived> k;
        pipeline::hash_key(derived(), v, k);
        pipeline::feed_view(derived(), v, k);
    }
    // The same as feeding one by one, with the table lookups prefetched
    // (feed_all.hpp, which also feeds several detectors in one pass).
    void feed(std::span<const Record> records) { feed_all(records, derived()); }

    const Config& config() const noexcept { return config_; }
    Clock& clock() noexcept { return clock_; }
    record_time watermark() const noexcept { return time_.watermark; }
    // The seed in use: the configured one, else the loaded state's or this process's.
    std::uint64_t hash_seed() const noexcept { return hash_seed_; }

protected:
    using schema = config_schema<Config>;

    detector_base(Config config, Clock clock, const Allocator& allocator)
        : config_(std::move(config)), hash_seed_(config_.hash_seed.value_or(process_hash_seed())),
          clock_(std::move(clock)), alloc_(allocator) {
        config_.validate();
    }

    Derived& derived() noexcept { return static_cast<Derived&>(*this); }

    // Counts the record and applies the time rules; false when the record
    // is dropped (and counted as malformed, late or future).
    bool admit_record(const record_view& v) {
        ++stats_.records;
        switch (time_.template admit<clock_is_live<Clock>>(v.time, config_.max_lateness, config_.max_clock_skew,
                                                            [this] { return clock_now(clock_); })) {
        case time_verdict::out_of_range: ++stats_.malformed_dropped; return false;
        case time_verdict::late: ++stats_.late_dropped; return false;
        case time_verdict::future: ++stats_.future_dropped; return false;
        case time_verdict::accept: break;
        }
        return true;
    }

    // The "now" of a poll (time_gate::poll_now with this detector's clock).
    record_time poll_now() { return time_.poll_now(clock_now(clock_)); }

    // A full pass over the tables at most once per `period` keeps poll() cheap.
    bool sweep_due(record_time now, record_duration period) noexcept {
        if (last_sweep_ != record_time::min() && now - last_sweep_ < period) return false;
        last_sweep_ = now;
        return true;
    }

    // One state frame: the head, then `body(writer)`. `after_config` and
    // `after_sweep` write what a detector keeps inside its head (the proxy
    // detector's first record time and whether it has seen responses).
    template <class Body, class AfterConfig = no_state_part, class AfterSweep = no_state_part>
    void save_state(std::ostream& out, Body&& body, AfterConfig&& after_config = {},
                    AfterSweep&& after_sweep = {}) const {
        write_state(out, schema::kind, [&](auto& w) {
            write_config(w, config_, hash_seed_, schema::fields());
            after_config(w);
            write_time_gate(w, time_);
            w.time(last_sweep_);
            after_sweep(w);
            w.u64(next_event_id_);
            write_counters(w, schema::counters(), stats_);
            body(w);
        });
    }

    // Reads the head save_state() wrote, touching nothing of *this.
    template <class AfterConfig = no_state_part, class AfterSweep = no_state_part>
    loaded_head<Config, Stats> read_head(state_reader& r, AfterConfig&& after_config = {},
                                         AfterSweep&& after_sweep = {}) const {
        loaded_head<Config, Stats> h;
        const auto saved = read_config(r, schema::fields());
        h.hash_seed = seed_to_adopt(config_.hash_seed, saved.hash_seed);
        h.report = load_report{config_differences(saved.config, config_, schema::fields())};
        after_config(r);
        h.time = read_time_gate(r);
        h.newest = newest_seen(h.time);
        h.last_sweep = r.time_or(record_time::min());
        if (h.last_sweep > h.newest) r.fail("sweep after the newest record or poll");
        after_sweep(r);
        h.next_event_id = r.u64();
        if (h.next_event_id == 0 || h.next_event_id > max_next_event_id) r.fail("next event id out of range");
        read_counters(r, schema::counters(), h.stats);
        return h;
    }

    // Adopts a head read by read_head(), once the rest of the state was read too.
    load_report commit_head(loaded_head<Config, Stats>&& h) noexcept {
        hash_seed_ = h.hash_seed;
        time_ = h.time;
        last_sweep_ = h.last_sweep;
        next_event_id_ = h.next_event_id;
        stats_ = h.stats;
        return std::move(h.report);
    }

    Config config_;
    std::uint64_t hash_seed_;
    Clock clock_;
    [[no_unique_address]] Allocator alloc_;
    time_gate time_;
    record_time last_sweep_{record_time::min()};
    std::uint64_t next_event_id_ = 1;
    Stats stats_;
};

} // namespace detail
SIPDETECT_NAMESPACE_END
