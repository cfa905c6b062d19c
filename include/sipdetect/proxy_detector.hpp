// sipdetect: SIPPROXY, an address that sends SIP for many distinct SIP URIs
// (Flowmon ADS SIPPROXY).
//
// A requester that originates requests for at least `min_uris` distinct From
// URIs is a proxy (or PBX, SBC). Proxies found during the ClosedSeason are
// learned silently; a proxy found afterwards raises one new_proxy event
// (possible man-in-the-middle). A learned proxy silent for TimeToDeath is
// forgotten and is new again when it reappears.
//
// Scanners are not proxies (README "Scanners are not proxies"): a From URI
// built from the target (its host the destination's address, or outside
// REGISTER its user the called user) counts as the same URI whatever the
// target, and a candidate that a linked SIPSCAN detector holds as a scanner
// at its verdict is refused (refuse_scanners_of()).
#pragma once

#include <sipdetect/address.hpp>
#include <sipdetect/clock.hpp>
#include <sipdetect/detail/detector_base.hpp>
#include <sipdetect/detail/detector_common.hpp>
#include <sipdetect/detail/flat_table.hpp>
#include <sipdetect/detail/hash.hpp>
#include <sipdetect/detail/inlining.hpp>
#include <sipdetect/detail/time_gate.hpp>
#include <sipdetect/feed_all.hpp>
#include <sipdetect/record.hpp>
#include <sipdetect/version.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

SIPDETECT_NAMESPACE_BEGIN

// The two filter meanings of the ADS manual.
enum class proxy_filter_mode : std::uint8_t {
    exclude_devices,      // 12.2: devices inside the ranges are never detected
    exclude_internal,     // 13.0: a communication with both ends inside the ranges is ignored
};

struct proxy_config {
    // Distinct From URIs that make a proxy. Phones send for 1 to 4 URIs;
    // the smallest proxy in the captures it was tuned on relays for 20 (the
    // bundled demo) and a kamailio lab proxy for 46.
    std::uint32_t min_uris = 10;
    // Distinct From URIs are counted exactly up to this many per source, so
    // that an event reports how many a proxy relays for, then reported as
    // saturated. At least min_uris.
    std::uint32_t max_distinct = 256;
    // ADS ClosedSeason: training from the first record; no events during it.
    record_duration closed_season = days(7);
    // ADS TimeToDeath: a learned proxy silent this long is forgotten.
    record_duration time_to_death = days(14);
    prefix_set filter;
    proxy_filter_mode filter_mode = proxy_filter_mode::exclude_devices;
    // When the feed carries responses, a candidate whose requests got a 2xx
    // less often than this is a scanner rotating From users, not a proxy
    // (SIP-212's toll-fraud source: 6 %; the lab proxies: 75 % and more).
    double min_success_share = 0.2;
    // Verdicts wait this long after the URI minimum is reached so the
    // answers can arrive (SIP's transaction timeout, 64 * T1).
    record_duration answer_grace = std::chrono::seconds(32);
    // A candidate below the minimum is forgotten after this much silence.
    record_duration candidate_idle_timeout = std::chrono::hours(24);
    std::uint64_t max_candidates = 1'000'000; // 64 bits on every host, so that state files are the same
    std::uint64_t max_proxies = 100'000;
    std::uint32_t uri_samples = 8;
    std::uint32_t peer_samples = 8;
    std::uint32_t max_user_agents = 4;
    // Hostile time, as in scan_config: a training season can be neither
    // stalled nor ended early by a record's time.
    record_duration max_lateness = std::chrono::hours(1);
    record_duration max_clock_skew = std::chrono::hours(24);
    // As in scan_config: unset, a random seed per process or the loaded state's.
    std::optional<std::uint64_t> hash_seed;

    void validate() const;
    friend bool operator==(const proxy_config&, const proxy_config&) = default;
};

struct proxy_event {
    std::uint64_t id = 0;
    ip_address source;
    std::uint32_t uris = 0;               // distinct From URIs at the verdict, exact up to max_distinct
    bool counts_saturated = false;        // uris stopped at max_distinct
    std::vector<std::string> uri_sample;  // bounded
    record_time first_seen{};             // first request of the source
    record_time detected_at{};            // record time of the verdict
    record_time last_seen{};
    std::vector<ip_address> peers;        // responders it sent to, bounded
    unsigned min_via = 0, max_via = 0;    // Via depth seen on its requests (0: unknown)
    std::vector<std::string> user_agents; // bounded
    std::uint64_t requests = 0;           // requests that expect an answer (not ACK)
    std::uint64_t successes = 0;          // 2xx answers to them
    bool answers_judged = false;          // false when the feed carried no responses
    friend bool operator==(const proxy_event&, const proxy_event&) = default;
};

// A proxy the detector has learned: the baseline that a proxy appearing
// later is new against (proxy_detector::learned_proxies()).
struct known_proxy {
    ip_address address;
    record_time first_seen{}, last_seen{}; // its first and latest request
    record_time learned_at{};              // record time of the verdict that learned it
    bool learned_in_training = false;      // found during the ClosedSeason, so learned without an event
    friend bool operator==(const known_proxy&, const known_proxy&) = default;
};

struct proxy_stats {
    std::uint64_t records = 0;
    std::uint64_t filtered = 0;              // records excluded by the filter
    std::uint64_t malformed_dropped = 0;
    std::uint64_t late_dropped = 0;
    std::uint64_t future_dropped = 0;
    std::uint64_t candidates = 0;            // now
    std::uint64_t proxies = 0;               // learned now
    std::uint64_t learned_in_training = 0;
    std::uint64_t new_proxy_events = 0;
    std::uint64_t judged_scanner_like = 0;   // verdicts refused: failing requests, or held as a scanner by SIPSCAN
    std::uint64_t candidates_evicted = 0;
    std::uint64_t candidates_rejected = 0;   // newcomers refused: every candidate sampled was further along
    std::uint64_t candidates_expired = 0;
    std::uint64_t proxies_evicted = 0;
    std::uint64_t proxies_expired = 0;       // forgotten after TimeToDeath
    std::uint64_t memory_bytes = 0;
    friend bool operator==(const proxy_stats&, const proxy_stats&) = default;
};

namespace detail {

// Evidence of a candidate past a phone's single From URI; its memory, as the
// tables', comes from the detector's allocator.
template <class Allocator>
struct proxy_heavy {
    explicit proxy_heavy(const Allocator& a)
        : uris(rebound_allocator<Allocator, std::uint32_t>(a)),
          uri_sample(rebound_allocator<Allocator, allocated_string<Allocator>>(a)),
          peers(rebound_allocator<Allocator, ip_address>(a)),
          user_agents(rebound_allocator<Allocator, allocated_string<Allocator>>(a)) {}

    basic_fingerprint_set<rebound_allocator<Allocator, std::uint32_t>> uris; // stops at max_distinct
    allocated_strings<Allocator> uri_sample;
    std::vector<ip_address, rebound_allocator<Allocator, ip_address>> peers;
    allocated_strings<Allocator> user_agents;
    record_time crossed_at{}; // when min_uris was reached; valid when crossed
};

// One cache line. A requester that has sent for a single From URI, as a
// phone does, keeps that URI's fingerprint inline and allocates nothing.
template <class Allocator>
struct alignas(64) proxy_candidate {
    ip_address address;
    std::uint32_t uri_key = 0; // the single URI's fingerprint while there is no heavy part; 0: none
    bool crossed = false;      // implies a heavy part
    bool judged_scanner_like = false;
    std::uint8_t min_via = 0, max_via = 0; // Via depths, saturating at 255
    record_time first_seen{}, last_seen{};
    std::uint64_t requests = 0, successes = 0;
    allocated_ptr<proxy_heavy<Allocator>, Allocator> heavy;

    std::uint32_t uris() const noexcept { return heavy ? heavy->uris.size() : (uri_key != 0 ? 1u : 0u); }
    source_key key() const noexcept { return source_key{address, 0}; }
    void set_key(const source_key& k) noexcept { address = k.address; }
};
static_assert(sizeof(void*) != 8 || sizeof(proxy_candidate<std::allocator<std::byte>>) == 64,
              "a proxy candidate is one cache line");

struct learned_proxy {
    ip_address address;
    bool in_training = false;
    record_time first_seen{}, last_seen{}, learned_at{};

    source_key key() const noexcept { return source_key{address, 0}; }
    void set_key(const source_key& k) noexcept { address = k.address; }
};

} // namespace detail

// Allocator: as for scan_detector (its tables, candidates' evidence and
// lists; events are plain std types).
template <class Record, detector_clock Clock = manual_clock, class Allocator = std::allocator<std::byte>>
class proxy_detector
    : public detail::detector_base<proxy_detector<Record, Clock, Allocator>, Record, proxy_config, proxy_stats, Clock,
                                   Allocator> {
    using base = detail::detector_base<proxy_detector, Record, proxy_config, proxy_stats, Clock, Allocator>;
    using base::alloc_, base::clock_, base::config_, base::hash_seed_, base::last_sweep_, base::next_event_id_,
        base::stats_, base::time_;

public:
    using event_type = proxy_event;

    explicit proxy_detector(proxy_config config = {}, Clock clock = Clock{}, const Allocator& allocator = Allocator());

    // New-proxy events due now. Verdicts whose answer grace has passed by
    // the later of the newest record time and the clock are made first.
    std::vector<proxy_event> poll();
    // End of input: make every pending verdict now. With a linked SIPSCAN
    // detector, flush this one first: the scans' flush() ends their scans.
    std::vector<proxy_event> flush();

    // Links a SIPSCAN detector fed the same records (feed_all(records,
    // scans, proxies) feeds both): a candidate that `scans` holds as a
    // scanner at its verdict (an active scan of any submethod) is not a
    // proxy, and is forgotten. ScanDetector is any type with
    // `bool holds_as_scanner(const ip_address&) const`. `scans` must outlive
    // the link. The link is not state: load() keeps it, but a detector
    // assigned from another (load_state_file() assigns freshly loaded ones)
    // takes the other's, so link after loading. A scanner slower than answer_grace per threshold can be judged
    // before SIPSCAN holds it; the URI rule above still applies to it.
    template <class ScanDetector> void refuse_scanners_of(const ScanDetector& scans) noexcept {
        scanners_ = &scans;
        holds_as_scanner_ = [](const void* linked, const ip_address& a) {
            return static_cast<const ScanDetector*>(linked)->holds_as_scanner(a);
        };
    }
    proxy_stats stats() const;
    // Training ends here; record_time::max() before the first record.
    record_time season_end() const noexcept;
    bool is_learned(const ip_address& a) const { return proxies_.find(key_of(a)) != nullptr; }
    // Verdicts not yet reported: candidates awaiting theirs (inside the
    // answer grace, or refused for now as scanner-like) and events made but
    // not yet polled. A saved state keeps them for the next run.
    std::size_t pending_verdicts() const noexcept { return awaiting_.size() + pending_.size(); }
    // Every learned proxy, in address order.
    std::vector<known_proxy> learned_proxies() const;

    void save(std::ostream& out) const;
    load_report load(std::istream& in);

private:
    friend struct detail::pipeline; // feed() and feed_all() run the stages below (feed_all.hpp)
    using record_view = detail::record_view;
    using lookup_type = detail::hashed_key;
    void hash_key(const record_view& v, lookup_type& k) const noexcept {
        k.key.address = v.client;
        k.key.tag = 0;
        k.hash = candidates_.hash_of(k.key);
        k.present = true;
        k.position_hint = detail::no_position_hint;
    }
    void feed_view(const record_view& v, const lookup_type& k);
    SIPDETECT_DETAIL_PREFETCHING void prefetch_index(const lookup_type& k) const noexcept {
        candidates_.prefetch(k.hash);
    }
    SIPDETECT_DETAIL_PREFETCHING void prefetch_entry(lookup_type& k) const noexcept {
        k.position_hint = candidates_.prefetch_entry(k.hash);
    }

    using candidate_type = detail::proxy_candidate<Allocator>;
    using heavy_type = detail::proxy_heavy<Allocator>;
    using candidate_table = detail::flat_table<detail::source_key, candidate_type, detail::source_key_hasher,
                                               detail::rebound_allocator<Allocator, candidate_type>>;
    using proxy_table = detail::flat_table<detail::source_key, detail::learned_proxy, detail::source_key_hasher,
                                           detail::rebound_allocator<Allocator, detail::learned_proxy>>;
    // A crossed candidate awaiting its verdict: when it is due, and its rank
    // in the order the candidates crossed (verdicts due together are made in
    // that order, so event ids do not depend on when the detector is polled).
    struct awaited_verdict {
        record_time due;
        std::uint64_t rank;
        detail::source_key key;
    };
    using verdict_list = std::vector<awaited_verdict, detail::rebound_allocator<Allocator, awaited_verdict>>;
    static bool due_later(const awaited_verdict& a, const awaited_verdict& b) noexcept { return a.due > b.due; }
    static bool crossed_earlier(const awaited_verdict& a, const awaited_verdict& b) noexcept { return a.rank < b.rank; }

    static detail::source_key key_of(const ip_address& a) noexcept { return detail::source_key{a, 0}; }
    record_time due_time(record_time crossed_at) const noexcept;
    SIPDETECT_DETAIL_HOT_STEP bool filtered(const record_view& v) noexcept; // counts what it excludes
    SIPDETECT_DETAIL_HOT_STEP bool still_learned(const detail::hashed_key& k, record_time t);
    // The key's candidate, appended while the table has room; at
    // max_candidates, admit_at_cap() finds it or picks a victim.
    SIPDETECT_DETAIL_HOT_STEP candidate_type* admit(const detail::hashed_key& k) {
        if (candidates_.size() < config_.max_candidates)
            return candidates_.try_emplace(k.key, k.hash, k.position_hint).first;
        return admit_at_cap(k);
    }
    candidate_type* admit_at_cap(const detail::hashed_key& k);
    SIPDETECT_DETAIL_HOT_STEP void on_request(const record_view& v, const detail::hashed_key& k,
                                              std::uint64_t requests, std::uint64_t successes);
    void on_success(const detail::hashed_key& k, std::uint64_t successes);
    SIPDETECT_DETAIL_HOT_STEP void add_uri(candidate_type& c, const record_view& v);
    void await_verdict(const awaited_verdict& verdict); // strong guarantee
    bool verdict_due(record_time now) const noexcept { return !awaiting_.empty() && awaiting_.front().due <= now; }
    void decide_due(record_time now, bool everything);
    bool decide(const detail::source_key& key, candidate_type& c, record_time at);
    void learn(const detail::source_key& key, candidate_type& c, record_time at);
    void sweep(record_time now) noexcept;

    candidate_table candidates_;
    proxy_table proxies_;
    // Crossed candidates awaiting a verdict, a min-heap on `due`: a record
    // that makes no verdict due costs one comparison, however many wait.
    verdict_list awaiting_;
    verdict_list due_now_; // decide_due()'s working list, kept for its capacity
    std::uint64_t next_rank_ = 0;
    std::vector<proxy_event> pending_;
    record_time first_record_{record_time::max()}; // training starts here and never moves
    bool responses_seen_ = false;
    const void* scanners_ = nullptr; // refuse_scanners_of()
    bool (*holds_as_scanner_)(const void*, const ip_address&) = nullptr;
};

SIPDETECT_NAMESPACE_END

#include <sipdetect/proxy_detector_impl.hpp>
