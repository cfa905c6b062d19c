// sipdetect: SIPCAMPAIGN, a distributed low-rate scan: many sources, each
// probing a few SIP targets, that together sweep a network or an extension
// range (README "Campaigns").
//
// Sources are grouped by the fingerprint of their probes: the submethod, the
// User-Agent, and what the From header says about the sender (its user and
// host literally, or that it mirrors the target). A source stays a member of
// its group while it keeps one fingerprint, stays below SIPSCAN's threshold
// (it would be a scanner of its own) and, for REGISTER and INVITE, is never
// answered 2xx (a phone registering or calling, not probing). A group whose
// members, at least `min_sources` of them, together probed
// `campaign_threshold` distinct targets within `campaign_window` is a
// campaign. Events follow the SIPSCAN lifecycle: start, rate-limited
// updates, end after an inactivity timeout.
#pragma once

#include <sipdetect/address.hpp>
#include <sipdetect/clock.hpp>
#include <sipdetect/detail/detector_base.hpp>
#include <sipdetect/detail/detector_common.hpp>
#include <sipdetect/detail/flat_table.hpp>
#include <sipdetect/detail/hash.hpp>
#include <sipdetect/detail/inlining.hpp>
#include <sipdetect/errors.hpp>
#include <sipdetect/record.hpp>
#include <sipdetect/scan_detector.hpp>
#include <sipdetect/version.hpp>

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

SIPDETECT_NAMESPACE_BEGIN

struct campaign_config {
    // The submethods whose probes can form a campaign (as SIPSCAN's switches).
    bool register_scan = true;
    bool options_scan = true;
    bool invite_scan = true;
    // Distinct targets (responder, port, called user) the members of one
    // group must probe together within campaign_window: SIPSCAN's threshold,
    // so that what one source would have to do to be reported, many sources
    // sharing the work are reported for too.
    std::uint32_t campaign_threshold = 20;
    record_duration campaign_window = std::chrono::hours(1);
    // Sources that must have probed within the window. Five: two or three
    // sources of one make polling the same few trunks are normal (an HA pair
    // of monitors), and a distributed sweep uses far more.
    std::uint32_t min_sources = 5;
    // SIPSCAN's threshold (scan_config::threshold): a source that probes this
    // many distinct targets with one submethod is a scanner in its own right,
    // reported by SIPSCAN, and no campaign member.
    std::uint32_t scan_threshold = 20;
    // An active campaign with no member request for this long ends.
    record_duration event_idle_timeout = std::chrono::hours(1);
    // Minimum spacing of update events for one active campaign.
    record_duration update_interval = std::chrono::minutes(10);
    // A source is forgotten after this much silence: SIPSCAN's, so that a
    // source it would still hold as a scanner is still excluded here.
    record_duration source_idle_timeout = std::chrono::hours(6);
    // Caps on tracked (source, submethod) entries and fingerprint groups,
    // and on the members one group lists; see README "Memory bounds".
    std::uint64_t max_tracked = 200'000;
    std::uint64_t max_groups = 100'000;
    std::uint32_t max_members = 1024;
    std::uint32_t source_samples = 10; // member addresses attached to events
    // Requests relayed by a proxy (two or more Via) come from the relay.
    bool ignore_relayed = true;
    // Only responders inside these prefixes count (empty: all responders).
    prefix_set destination_filter;
    // Hostile time, as for the other detectors (README "Time").
    record_duration max_lateness = std::chrono::hours(1);
    record_duration max_clock_skew = std::chrono::hours(24);
    // Seed of the fingerprint hashes (as scan_config::hash_seed).
    std::optional<std::uint64_t> hash_seed;

    void validate() const;
    friend bool operator==(const campaign_config&, const campaign_config&) = default;
};

struct campaign_event {
    scan_phase phase = scan_phase::start;
    std::uint64_t id = 0; // the same for start, updates and end of one campaign
    scan_submethod submethod = scan_submethod::register_;
    scan_kind kind = scan_kind::horizontal;
    std::uint32_t sources = 0;             // members that probed within the window
    std::vector<ip_address> source_sample; // the first members, at most source_samples
    std::uint32_t hosts = 0, users = 0, targets = 0; // distinct, over the members' probes in the window
    std::uint64_t requests = 0;                      // every request of the members
    record_time first_seen{}, last_seen{};
    std::string tool;        // known scanner matched by User-Agent or From, else empty
    std::string fingerprint; // what the members share, in words
    friend bool operator==(const campaign_event&, const campaign_event&) = default;
};

struct campaign_stats {
    std::uint64_t records = 0;
    std::uint64_t requests = 0;              // probes of the switched-on submethods
    std::uint64_t responses_matched = 0;     // 2xx answers to a tracked source's REGISTER or INVITE
    std::uint64_t relayed_ignored = 0;       // requests with >= 2 Via
    std::uint64_t filtered = 0;              // responders outside destination_filter
    std::uint64_t malformed_dropped = 0;
    std::uint64_t late_dropped = 0;
    std::uint64_t future_dropped = 0;
    std::uint64_t scanners_excluded = 0;     // sources that reached scan_threshold on their own
    std::uint64_t answered_excluded = 0;     // sources answered 2xx to REGISTER or INVITE
    std::uint64_t inconsistent_excluded = 0; // sources whose fingerprint changed
    std::uint64_t sources_evicted = 0;       // entries pushed out at max_tracked
    std::uint64_t sources_expired = 0;       // entries forgotten after source_idle_timeout
    std::uint64_t groups_evicted = 0;        // groups pushed out at max_groups
    std::uint64_t groups_rejected = 0;       // newcomers refused: every candidate group had an active campaign
    std::uint64_t groups_expired = 0;        // groups left without members
    std::uint64_t members_rejected = 0;      // sources refused by a group holding max_members
    std::uint64_t events_started = 0;
    std::uint64_t events_ended = 0;
    std::uint64_t tracked = 0;      // source entries now
    std::uint64_t groups = 0;       // groups now
    std::uint64_t memory_bytes = 0; // tables plus per-entry allocations, approximately
    friend bool operator==(const campaign_stats&, const campaign_stats&) = default;
};

namespace detail {

// What a source's From says about it, as part of its fingerprint.
enum class from_part : std::uint8_t { literal, mirrors_target };

// One distinct target a source probed, with when it last did.
struct probed_target {
    std::uint32_t target_key = 0, host_key = 0, user_key = 0;
    record_time at{};
};

// Why a tracked source is no campaign member.
enum class member_status : std::uint8_t { eligible, scanner, answered, inconsistent };
inline constexpr std::uint8_t member_status_count = 4;

template <class Allocator>
struct campaign_source {
    explicit campaign_source(const Allocator& a = Allocator()) : targets(rebound_allocator<Allocator, probed_target>(a)) {}
    ip_address address;
    std::uint8_t submethod = 0;
    member_status status = member_status::eligible;
    bool member = false; // listed in its group's members
    std::uint64_t fingerprint = 0;
    record_time first_seen{}, last_seen{};
    std::uint64_t requests = 0;
    // At most scan_threshold - 1: reaching scan_threshold makes the source a scanner.
    std::vector<probed_target, rebound_allocator<Allocator, probed_target>> targets;

    source_key key() const noexcept { return source_key{address, submethod}; }
    void set_key(const source_key& k) noexcept {
        address = k.address;
        submethod = k.tag;
    }
};

struct fingerprint_key {
    std::uint64_t value = 0;
    friend bool operator==(const fingerprint_key&, const fingerprint_key&) = default;
};
struct fingerprint_key_hasher {
    std::uint64_t seed = 0;
    std::uint64_t operator()(const fingerprint_key& k) const noexcept { return mix64(k.value ^ seed); }
};

// The words a group's fingerprint is made of, as its first member showed them.
inline constexpr std::size_t fingerprint_part_cap = 64;

template <class Allocator>
struct campaign_group {
    explicit campaign_group(const Allocator& a = Allocator())
        : user_agent(rebound_allocator<Allocator, char>(a)), from_user(rebound_allocator<Allocator, char>(a)),
          from_host(rebound_allocator<Allocator, char>(a)), members(rebound_allocator<Allocator, source_key>(a)) {}
    std::uint64_t fingerprint = 0;
    std::uint8_t submethod = 0;
    std::uint8_t tool = 0;
    from_part from_user_part = from_part::literal, from_host_part = from_part::literal;
    allocated_string<Allocator> user_agent, from_user, from_host;
    std::vector<source_key, rebound_allocator<Allocator, source_key>> members;
    record_time last_seen{}; // the latest member request
    bool active = false;
    bool start_pending = false;
    bool changed = false; // counts changed since the last emitted event
    std::uint64_t event_id = 0;
    record_time last_emitted{};
    // The latest count over the window (recount()).
    std::uint32_t sources = 0, hosts = 0, users = 0, targets = 0;

    fingerprint_key key() const noexcept { return fingerprint_key{fingerprint}; }
    void set_key(const fingerprint_key& k) noexcept { fingerprint = k.value; }
};

// A probe's fingerprint parts, before hashing.
struct probe_fingerprint {
    std::string_view user_agent, from_user, from_host;
    from_part from_user_part = from_part::literal, from_host_part = from_part::literal;
};

} // namespace detail

// Allocator: as for scan_detector (tables, per-source targets, group lists;
// events are plain std types).
template <class Record, detector_clock Clock = manual_clock, class Allocator = std::allocator<std::byte>>
class campaign_detector
    : public detail::detector_base<campaign_detector<Record, Clock, Allocator>, Record, campaign_config, campaign_stats,
                                   Clock, Allocator> {
    using base = detail::detector_base<campaign_detector, Record, campaign_config, campaign_stats, Clock, Allocator>;
    using base::alloc_, base::clock_, base::config_, base::hash_seed_, base::last_sweep_, base::next_event_id_,
        base::stats_, base::time_;

public:
    using event_type = campaign_event;

    explicit campaign_detector(campaign_config config = {}, Clock clock = Clock{},
                               const Allocator& allocator = Allocator());

    // Events due now, in a stable order (by id, then phase).
    std::vector<campaign_event> poll();
    // Ends every active campaign (end of input), after any pending start.
    std::vector<campaign_event> flush();

    campaign_stats stats() const;
    // Active campaigns now (started or about to start).
    std::size_t active_campaigns() const noexcept { return active_.size(); }

    void save(std::ostream& out) const;
    load_report load(std::istream& in);

private:
    friend struct detail::pipeline; // feed() and feed_all() run the stages below (feed_all.hpp)
    using record_view = detail::record_view;
    using lookup_type = detail::hashed_key;
    void hash_key(const record_view& v, lookup_type& k) const noexcept {
        k.present = key_of(v, k.key);
        k.hash = k.present ? sources_.hash_of(k.key) : 0;
        k.position_hint = detail::no_position_hint;
    }
    void feed_view(const record_view& v, const lookup_type& k);
    SIPDETECT_DETAIL_PREFETCHING void prefetch_index(const lookup_type& k) const noexcept {
        if (k.present) sources_.prefetch(k.hash);
    }
    SIPDETECT_DETAIL_PREFETCHING void prefetch_entry(lookup_type& k) const noexcept {
        if (k.present) k.position_hint = sources_.prefetch_entry(k.hash);
    }

    using source_type = detail::campaign_source<Allocator>;
    using group_type = detail::campaign_group<Allocator>;
    using source_table = detail::flat_table<detail::source_key, source_type, detail::source_key_hasher,
                                            detail::rebound_allocator<Allocator, source_type>>;
    using group_table = detail::flat_table<detail::fingerprint_key, group_type, detail::fingerprint_key_hasher,
                                           detail::rebound_allocator<Allocator, group_type>>;
    using group_list = std::vector<detail::fingerprint_key, detail::rebound_allocator<Allocator, detail::fingerprint_key>>;

    bool key_of(const record_view& v, detail::source_key& key) const noexcept;
    void on_request(const record_view& v, const detail::hashed_key& k);
    void on_answer(const detail::hashed_key& k);
    source_type* admit_source(const detail::hashed_key& k);
    group_type* admit_group(const detail::fingerprint_key& key, const detail::probe_fingerprint& parts,
                            std::uint8_t submethod);
    std::uint64_t fingerprint_of(const detail::probe_fingerprint& parts, std::uint8_t submethod) const noexcept;
    void exclude(source_type& s, detail::member_status why);
    void leave_group(source_type& s) noexcept;
    void unlist(const source_type& s) noexcept; // from its group's members

    void recount(group_type& g, record_time now);
    campaign_event make_event(scan_phase phase, const group_type& g) const;
    std::vector<campaign_event> emit(bool end_all);
    void end_campaign(const detail::fingerprint_key& key) noexcept;
    void sweep(record_time now) noexcept;
    bool enabled(std::uint8_t submethod) const noexcept { return (enabled_submethods_ >> submethod) & 1u; }

    std::uint8_t enabled_submethods_ = 0;
    source_table sources_;
    group_table groups_;
    group_list active_; // groups with an active campaign, few
};

SIPDETECT_NAMESPACE_END

#include <sipdetect/campaign_detector_impl.hpp>
