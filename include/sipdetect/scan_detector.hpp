// sipdetect: SIPSCAN, one source probing many SIP targets (Flowmon ADS SIPSCAN).
//
// A target is (responder address, responder port, called user). A requester
// that probes at least `threshold` distinct targets with one submethod
// (REGISTER, OPTIONS or INVITE) is scanning. Events are keyed by
// (requester, submethod) and follow the ADS lifecycle: start when the
// threshold is crossed, rate-limited updates while the scan goes on, end
// after an inactivity timeout.
#pragma once

#include <sipdetect/address.hpp>
#include <sipdetect/clock.hpp>
#include <sipdetect/detail/detector_base.hpp>
#include <sipdetect/detail/detector_common.hpp>
#include <sipdetect/detail/flat_table.hpp>
#include <sipdetect/detail/hash.hpp>
#include <sipdetect/detail/inlining.hpp>
#include <sipdetect/detail/time_gate.hpp>
#include <sipdetect/errors.hpp>
#include <sipdetect/feed_all.hpp>
#include <sipdetect/record.hpp>
#include <sipdetect/version.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

SIPDETECT_NAMESPACE_BEGIN

enum class scan_submethod : std::uint8_t { register_, options, invite };
inline constexpr std::array<std::string_view, 3> scan_submethod_names{"register", "options", "invite"};
inline constexpr std::array<std::string_view, 3> scan_phase_names{"start", "update", "end"};
inline constexpr std::array<std::string_view, 3> scan_kind_names{"horizontal", "vertical", "mixed"};

namespace detail {
// A name from the table, or "unknown" for a value past it (an enum can hold any byte).
template <std::size_t N> constexpr std::string_view name_or_unknown(const std::array<std::string_view, N>& names,
                                                                   std::size_t i) noexcept {
    return i < N ? names[i] : std::string_view("unknown");
}
} // namespace detail

constexpr std::string_view to_string(scan_submethod s) noexcept {
    return detail::name_or_unknown(scan_submethod_names, static_cast<std::size_t>(s));
}

enum class scan_phase : std::uint8_t { start, update, end };
constexpr std::string_view to_string(scan_phase p) noexcept {
    return detail::name_or_unknown(scan_phase_names, static_cast<std::size_t>(p));
}

// horizontal: many hosts; vertical: many users at few hosts; mixed: both
// dimensions reach the threshold on their own.
enum class scan_kind : std::uint8_t { horizontal, vertical, mixed };
constexpr std::string_view to_string(scan_kind k) noexcept {
    return detail::name_or_unknown(scan_kind_names, static_cast<std::size_t>(k));
}

struct scan_config {
    // The ADS submethod switches (RegisterScan, OptionsScan, InviteScan).
    bool register_scan = true;
    bool options_scan = true;
    bool invite_scan = true;
    // ADS Threshold: distinct targets one requester must probe with one submethod.
    // 20 is the smallest value that keeps the legitimate traffic of the public
    // captures it was tuned on quiet (a sipcli run's 11 dial strings, an svmap
    // REGISTER over 15 port/host pairs) while the real scans in them probe 20
    // to 259 targets.
    std::uint32_t threshold = 20;
    // Only responders inside these prefixes count (empty: all responders).
    prefix_set destination_filter;
    // An event with no new request for this long ends. One hour: a slow
    // brute force seen in a public capture pauses up to 29 minutes between bursts.
    record_duration event_idle_timeout = std::chrono::hours(1);
    // Minimum spacing of update events for one active scan.
    record_duration update_interval = std::chrono::minutes(10);
    // State of a requester below the threshold is forgotten after this much
    // silence. Long enough to let a scan of one request every few minutes add up.
    record_duration source_idle_timeout = std::chrono::hours(6);
    // Cap on tracked (requester, submethod) entries; see README "Memory bounds".
    std::uint64_t max_tracked = 1'000'000; // 64 bits on every host, so that state files are the same
    // Hosts, users and targets are counted exactly up to this many per
    // requester and submethod, then reported as saturated.
    std::uint32_t max_distinct = 256;
    std::uint32_t evidence_targets = 20; // targets attached to events, from the second target on
    std::uint32_t max_user_agents = 4;
    // A request that carries two or more Via headers was relayed by a proxy:
    // its transport source is the relay, not the party that probes.
    bool ignore_relayed = true;
    // A requester whose registrations mostly succeed (401 then 200) is a
    // proxy or registrar doing its job, not enumerating: no REGISTER scan
    // starts while successful targets exceed this share. OPTIONS and INVITE
    // are exempt: a 200 there is what the scanner was looking for.
    double max_success_share = 0.5;
    // Hostile time (README "Time"): records older than the newest minus
    // max_lateness, or beyond a live clock plus max_clock_skew, are dropped.
    record_duration max_lateness = std::chrono::hours(1);
    record_duration max_clock_skew = std::chrono::hours(24);
    // Seed of the fingerprint hashes. Unset: a random seed drawn once per
    // process, or the seed of a state file loaded into the detector. Set one
    // only to reproduce fingerprints exactly (tests); events do not depend on
    // it, except which sources are evicted at max_tracked.
    std::optional<std::uint64_t> hash_seed;

    void validate() const;
    friend bool operator==(const scan_config&, const scan_config&) = default;
};

// One probed target as attached to an event.
struct scan_target {
    ip_address host;
    std::uint16_t port = 0;
    std::string user;           // called user, cut to scan_user_cap bytes
    bool answered_success = false; // a 2xx was seen
    bool answered_failure = false; // a 3xx-6xx was seen
    std::uint16_t status = 0;      // a 2xx once one was seen, else the last 3xx-6xx; 0 if none
    friend bool operator==(const scan_target&, const scan_target&) = default;
};

inline constexpr std::size_t scan_user_cap = 32;

struct scan_event {
    scan_phase phase = scan_phase::start;
    std::uint64_t id = 0; // the same for start, updates and end of one scan
    ip_address source;
    scan_submethod submethod = scan_submethod::register_;
    scan_kind kind = scan_kind::horizontal;
    std::uint32_t hosts = 0, users = 0, targets = 0;
    bool counts_saturated = false; // counts stopped at max_distinct
    std::uint64_t requests = 0;
    std::uint32_t successful_targets = 0, failed_targets = 0;
    record_time first_seen{}, last_seen{};
    std::vector<scan_target> sample;      // targets in order of appearance, from the second on (README "Event schema")
    std::vector<std::string> user_agents; // bounded
    std::string tool;                     // known scanner matched by User-Agent or From, else empty
    friend bool operator==(const scan_event&, const scan_event&) = default;
};

struct scan_stats {
    std::uint64_t records = 0;
    std::uint64_t requests = 0;           // requests that counted toward a scan
    std::uint64_t responses_matched = 0;  // responses applied to a tracked target
    std::uint64_t relayed_ignored = 0;    // requests with >= 2 Via
    std::uint64_t filtered = 0;           // responders outside destination_filter
    std::uint64_t malformed_dropped = 0;  // impossible status codes and the like
    std::uint64_t late_dropped = 0;       // older than the newest record minus max_lateness
    std::uint64_t future_dropped = 0;     // beyond the live clock plus max_clock_skew
    std::uint64_t tracked = 0;            // entries now
    std::uint64_t sources_evicted = 0;    // entries pushed out at max_tracked
    std::uint64_t sources_evicted_with_progress = 0; // of those, entries that had probed several targets
    std::uint64_t sources_rejected = 0;   // newcomers refused because every candidate had an active scan
    std::uint64_t sources_expired = 0;    // entries forgotten after source_idle_timeout
    std::uint64_t events_started = 0;
    std::uint64_t events_ended = 0;
    std::uint64_t memory_bytes = 0;       // table plus per-source allocations, approximately
    friend bool operator==(const scan_stats&, const scan_stats&) = default;
};

namespace detail {

// A probed target as a scanner's evidence keeps it: its user inline, so
// that evidence allocates only its list.
struct kept_target {
    ip_address host;
    std::uint16_t port = 0;
    std::uint8_t user_length = 0;
    std::array<char, scan_user_cap> user_bytes{};
    bool answered_success = false;
    bool answered_failure = false;
    std::uint16_t status = 0;

    std::string_view user() const noexcept { return {user_bytes.data(), user_length}; }
    void set_user(std::string_view u) noexcept {
        user_length = static_cast<std::uint8_t>(std::min(u.size(), scan_user_cap));
        std::copy_n(u.data(), user_length, user_bytes.data());
    }
    scan_target to_target() const {
        return scan_target{host, port, std::string(user()), answered_success, answered_failure, status};
    }
};

// Evidence of one requester and submethod once it has probed more than one
// target; its memory, as the table's, comes from the detector's allocator.
template <class Allocator>
struct scan_heavy {
    explicit scan_heavy(const Allocator& a)
        : targets(rebound_allocator<Allocator, std::uint32_t>(a)), hosts(rebound_allocator<Allocator, std::uint32_t>(a)),
          users(rebound_allocator<Allocator, std::uint32_t>(a)), evidence(rebound_allocator<Allocator, kept_target>(a)),
          evidence_keys(rebound_allocator<Allocator, std::uint32_t>(a)),
          user_agents(rebound_allocator<Allocator, allocated_string<Allocator>>(a)) {}

    basic_fingerprint_set<rebound_allocator<Allocator, std::uint32_t>> targets, hosts, users;
    std::vector<kept_target, rebound_allocator<Allocator, kept_target>> evidence;
    std::vector<std::uint32_t, rebound_allocator<Allocator, std::uint32_t>> evidence_keys; // target fingerprint of each evidence entry
    allocated_strings<Allocator> user_agents;
    std::uint64_t last_user_agent_hash = 0; // not saved: only spares comparisons
    std::uint64_t last_from_hash = 0;       // not saved: spares the From user check while From stays the same
    std::uint32_t successful_targets = 0, failed_targets = 0;
    std::uint8_t tool = 0;
    bool active = false;
    bool start_pending = false;
    bool changed = false; // evidence since the last emitted event
    std::uint64_t event_id = 0;
    record_time last_emitted{}; // poll time of the last event
};

// Per (requester, submethod): one cache line. A requester with a single
// target keeps only its fingerprints and answers, and allocates nothing; the
// target's details are kept from the second target on (see README "Events").
template <class Allocator>
struct alignas(64) scan_source {
    ip_address address;
    std::uint8_t submethod = 0;
    std::uint8_t first_answers = 0; // bit 0: 2xx, bit 1: 3xx-6xx
    std::uint32_t target_key = 0, host_key = 0, user_key = 0;
    record_time first_seen{}, last_seen{};
    std::uint64_t requests = 0;
    allocated_ptr<scan_heavy<Allocator>, Allocator> heavy;

    source_key key() const noexcept { return source_key{address, submethod}; }
    void set_key(const source_key& k) noexcept {
        address = k.address;
        submethod = k.tag;
    }
};
static_assert(sizeof(void*) != 8 || sizeof(scan_source<std::allocator<std::byte>>) == 64,
              "a scan entry is one cache line");

} // namespace detail

// Allocator: where the tables, the per-source evidence and the detector's
// own lists get their memory (rebound as needed); the events handed out are
// plain std types. A stateless allocator keeps an entry in one cache line.
template <class Record, detector_clock Clock = manual_clock, class Allocator = std::allocator<std::byte>>
class scan_detector
    : public detail::detector_base<scan_detector<Record, Clock, Allocator>, Record, scan_config, scan_stats, Clock, Allocator> {
    using base = detail::detector_base<scan_detector, Record, scan_config, scan_stats, Clock, Allocator>;
    using base::alloc_, base::clock_, base::config_, base::hash_seed_, base::last_sweep_, base::next_event_id_,
        base::stats_, base::time_;

public:
    using event_type = scan_event;

    explicit scan_detector(scan_config config = {}, Clock clock = Clock{}, const Allocator& allocator = Allocator());

    // Events due now, in a stable order. "Now" is the later of the newest
    // record time and the clock's now().
    std::vector<scan_event> poll();
    // Ends every active scan (end of input), after any pending start.
    std::vector<scan_event> flush();

    scan_stats stats() const;

    // Persistent state (format in README "State files"). load() leaves the
    // detector untouched and throws state_error on any defect.
    void save(std::ostream& out) const;
    load_report load(std::istream& in);

private:
    friend struct detail::pipeline; // feed() and feed_all() run the stages below (feed_all.hpp)
    using record_view = detail::record_view;
    using lookup_type = detail::hashed_key;
    void hash_key(const record_view& v, lookup_type& k) const noexcept {
        k.present = key_of(v, k.key);
        k.hash = k.present ? table_.hash_of(k.key) : 0;
        k.position_hint = detail::no_position_hint;
    }
    void feed_view(const record_view& v, const lookup_type& k);
    SIPDETECT_DETAIL_PREFETCHING void prefetch_index(const lookup_type& k) const noexcept {
        if (k.present) table_.prefetch(k.hash);
    }
    SIPDETECT_DETAIL_PREFETCHING void prefetch_entry(lookup_type& k) const noexcept {
        if (k.present) k.position_hint = table_.prefetch_entry(k.hash);
    }

    using source_type = detail::scan_source<Allocator>;
    using heavy_type = detail::scan_heavy<Allocator>;
    using table_type =
        detail::flat_table<detail::source_key, source_type, detail::source_key_hasher, detail::rebound_allocator<Allocator, source_type>>;
    using key_list = std::vector<detail::source_key, detail::rebound_allocator<Allocator, detail::source_key>>;

    // False also for a switched-off submethod: its records then cost no lookup.
    bool key_of(const record_view& v, detail::source_key& key) const noexcept;
    SIPDETECT_DETAIL_HOT_STEP void on_request(const record_view& v, const detail::hashed_key& k, std::uint64_t count);
    void on_answer(const record_view& v, const detail::hashed_key& k, bool success, bool failure,
                   std::uint16_t status);
    // The key's entry, appended while the table has room; at max_tracked,
    // admit_at_cap() finds it or picks a victim.
    SIPDETECT_DETAIL_HOT_STEP source_type* admit(const detail::hashed_key& k) {
        if (table_.size() < config_.max_tracked) return table_.try_emplace(k.key, k.hash, k.position_hint).first;
        return admit_at_cap(k);
    }
    source_type* admit_at_cap(const detail::hashed_key& k);
    SIPDETECT_DETAIL_HOT_STEP void add_target(source_type& s, const record_view& v, std::uint32_t target_key,
                                              std::uint32_t host_key, std::uint32_t user_key, std::string_view user);
    void promote(source_type& s);
    SIPDETECT_DETAIL_HOT_STEP void note_user_agent(heavy_type& h, const record_view& v);
    SIPDETECT_DETAIL_HOT_STEP void maybe_activate(const detail::source_key& key, source_type& s);
    // An active scan has new evidence: its update may fall due before poll() expected.
    void note_change(heavy_type& h) noexcept {
        if (h.changed) return;
        h.changed = true;
        next_active_due_ = std::min(next_active_due_, detail::later_by(h.last_emitted, config_.update_interval));
    }
    scan_event make_event(scan_phase phase, const detail::source_key& key, const source_type& s) const;
    std::vector<scan_event> emit(bool end_all);
    void make_due_events(record_time now, const detail::source_key& key, const source_type& s,
                         std::vector<scan_event>& out) const;
    void commit_due_events(record_time now, bool end_all, key_list& still_active) noexcept;
    void sweep(record_time now) noexcept;
    bool enabled(scan_submethod m) const noexcept { return (enabled_submethods_ >> static_cast<unsigned>(m)) & 1u; }

    std::uint8_t enabled_submethods_ = 0; // bit per scan_submethod, from the config's switches
    // Each method's table key tag, or no_tag for a method of no switched-on
    // submethod: a lookup, not a switch, because in mixed traffic the method
    // changes from record to record and a branch on it mispredicts.
    static constexpr std::uint8_t no_tag = 0xff;
    std::array<std::uint8_t, sip_method_names.size()> method_tags_{};
    table_type table_;
    key_list active_; // keys with an active scan, few
    // No active scan can have an event due before this; poll() skips them until then.
    record_time next_active_due_{record_time::min()};
};

SIPDETECT_NAMESPACE_END

#include <sipdetect/scan_detector_impl.hpp>
