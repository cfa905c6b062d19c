// sipdetect: scan_detector member definitions (included by scan_detector.hpp).
#pragma once

#include <sipdetect/detail/state_io.hpp>
#include <sipdetect/scan_detector.hpp>
#include <sipdetect/scanner_tools.hpp>

#include <algorithm>
#include <array>
#include <limits>
#include <istream>
#include <ostream>
#include <string>

SIPDETECT_NAMESPACE_BEGIN

namespace detail {

template <class T> using scan_field = config_field<scan_config, T>;

// Every field of scan_config but the seed, with what it accepts. Order is the state format.
inline const auto scan_config_fields = std::make_tuple(
    scan_field<bool>{"register_scan", &scan_config::register_scan},
    scan_field<bool>{"options_scan", &scan_config::options_scan},
    scan_field<bool>{"invite_scan", &scan_config::invite_scan},
    scan_field<std::uint32_t>{"threshold", &scan_config::threshold, 1, unbounded_u32},
    scan_field<prefix_set>{"destination_filter", &scan_config::destination_filter},
    scan_field<record_duration>{"event_idle_timeout", &scan_config::event_idle_timeout, at_least_1us, unbounded_duration},
    scan_field<record_duration>{"update_interval", &scan_config::update_interval, record_duration::zero(), unbounded_duration},
    scan_field<record_duration>{"source_idle_timeout", &scan_config::source_idle_timeout, at_least_1us, unbounded_duration},
    scan_field<std::uint64_t>{"max_tracked", &scan_config::max_tracked, 1, max_table_entries},
    scan_field<std::uint32_t>{"max_distinct", &scan_config::max_distinct, 1, max_distinct_limit},
    scan_field<std::uint32_t>{"evidence_targets", &scan_config::evidence_targets, 0, max_evidence_limit},
    scan_field<std::uint32_t>{"max_user_agents", &scan_config::max_user_agents, 0, max_user_agents_limit},
    scan_field<bool>{"ignore_relayed", &scan_config::ignore_relayed},
    scan_field<double>{"max_success_share", &scan_config::max_success_share, 0.0, 1.0},
    scan_field<record_duration>{"max_lateness", &scan_config::max_lateness, record_duration::zero(), unbounded_duration},
    scan_field<record_duration>{"max_clock_skew", &scan_config::max_clock_skew, record_duration::zero(), unbounded_duration});

} // namespace detail

inline void scan_config::validate() const {
    detail::check_fields(*this, detail::scan_config_fields, "scan_config");
    if (threshold > max_distinct)
        throw config_error("scan_config.threshold " + std::to_string(threshold) + " exceeds max_distinct " +
                           std::to_string(max_distinct) + ": counts stop growing before it could be reached");
}

namespace detail {
// Bit m is set when submethod m is switched on (scan_config, campaign_config).
template <class Config> std::uint8_t submethod_mask(const Config& c) noexcept {
    return static_cast<std::uint8_t>((c.register_scan ? 1u : 0u) << static_cast<unsigned>(scan_submethod::register_) |
                                     (c.options_scan ? 1u : 0u) << static_cast<unsigned>(scan_submethod::options) |
                                     (c.invite_scan ? 1u : 0u) << static_cast<unsigned>(scan_submethod::invite));
}
inline bool to_submethod(sip_method m, scan_submethod& out) noexcept {
    switch (m) {
    case sip_method::register_: out = scan_submethod::register_; return true;
    case sip_method::options: out = scan_submethod::options; return true;
    case sip_method::invite: out = scan_submethod::invite; return true;
    default: return false;
    }
}
} // namespace detail

template <class Record, detector_clock Clock, class Allocator>
scan_detector<Record, Clock, Allocator>::scan_detector(scan_config config, Clock clock, const Allocator& allocator)
    : base(std::move(config), std::move(clock), allocator), enabled_submethods_(detail::submethod_mask(config_)),
      table_(detail::source_key_hasher{hash_seed_}, typename table_type::allocator_type(alloc_)),
      active_(typename key_list::allocator_type(alloc_)) {
    for (std::size_t i = 0; i < method_tags_.size(); ++i) {
        scan_submethod m;
        const bool keyed = detail::to_submethod(static_cast<sip_method>(i), m) && enabled(m);
        method_tags_[i] = keyed ? static_cast<std::uint8_t>(m) : no_tag;
    }
}

namespace detail {
// The called user: the To user, else the Request-URI user (a REGISTER's
// Request-URI names only the registrar).
inline std::string_view called_user(const record_view& v) noexcept {
    std::string_view user = uri_user(v.to_uri);
    if (user.empty()) user = uri_user(v.request_uri);
    return user;
}
inline constexpr std::size_t max_hashed_user = 256; // longer users are identified by their prefix

// The fingerprints of a probed target (responder, port, called user) and of its host and user.
struct target_fingerprints {
    std::uint32_t target = 0, host = 0, user = 0;
};
inline target_fingerprints fingerprints_of_target(const record_view& v, std::string_view user, std::uint64_t seed) noexcept {
    const std::uint64_t host_hash = hash_address(v.server, seed);
    const std::uint64_t user_hash = hash_bytes(head(user, max_hashed_user), seed);
    return {fingerprint_set::key_of(hash_combine(hash_combine(host_hash, v.server_port), user_hash)),
            fingerprint_set::key_of(host_hash), fingerprint_set::key_of(user_hash)};
}
// A target that accepted once (2xx) is reported as accepted: that is the finding.
inline constexpr std::uint16_t merged_status(std::uint16_t kept, std::uint16_t fresh) noexcept {
    if (fresh == 0) return kept;
    return kept >= 200 && kept < 300 ? kept : fresh;
}
} // namespace detail

// The table key of a request or response; false for records that have none.
template <class Record, detector_clock Clock, class Allocator>
bool scan_detector<Record, Clock, Allocator>::key_of(const record_view& v, detail::source_key& key) const noexcept {
    const auto method = static_cast<std::size_t>(v.method);
    const std::uint8_t tag = method < method_tags_.size() ? method_tags_[method] : no_tag;
    if (v.is_counters || tag == no_tag) return false;
    key = detail::source_key{v.client, tag};
    return true;
}

template <class Record, detector_clock Clock, class Allocator>
void scan_detector<Record, Clock, Allocator>::feed_view(const record_view& v, const lookup_type& k) {
    if (!this->admit_record(v)) return;
    if (v.is_counters) {
        const sip_counters& c = v.counters;
        const std::array<std::pair<scan_submethod, std::uint32_t>, 3> counts{
            {{scan_submethod::register_, c.register_requests},
             {scan_submethod::options, c.options_requests},
             {scan_submethod::invite, c.invite_requests}}};
        for (const auto& [m, n] : counts) {
            if (n == 0 || !enabled(m)) continue;
            detail::hashed_key key{detail::source_key{v.client, static_cast<std::uint8_t>(m)}, 0, true};
            key.hash = table_.hash_of(key.key);
            on_request(v, key, n);
            if (c.success_responses || c.failure_responses)
                on_answer(v, key, c.success_responses > 0, c.failure_responses > 0, 0);
        }
        return;
    }
    if (v.is_response() && (v.status < 100 || v.status > 699)) {
        ++stats_.malformed_dropped;
        return;
    }
    // k is present exactly for the methods of a switched-on submethod (key_of).
    if (!k.present) return;
    if (!v.is_response()) {
        on_request(v, k, 1);
    } else if (v.status >= 200) {
        on_answer(v, k, v.status < 300, v.status >= 300, v.status);
    }
}

template <class Record, detector_clock Clock, class Allocator>
auto scan_detector<Record, Clock, Allocator>::admit_at_cap(const detail::hashed_key& k) -> source_type* {
    const detail::source_key& key = k.key;
    if (source_type* s = table_.find(key, k.hash, k.position_hint)) return s;
    {
        // Victim: no active scan first, then the fewest targets, then the
        // longest silent. A spoofed one-probe source can only push out
        // another one-probe source; see README "Memory bounds".
        auto worse = [](const source_type& a, const source_type& b) {
            const bool a_active = a.heavy && a.heavy->active;
            const bool b_active = b.heavy && b.heavy->active;
            if (a_active != b_active) return !a_active;
            const std::uint32_t a_targets = a.heavy ? a.heavy->targets.size() : 1;
            const std::uint32_t b_targets = b.heavy ? b.heavy->targets.size() : 1;
            if (a_targets != b_targets) return a_targets < b_targets;
            return a.last_seen < b.last_seen;
        };
        const auto victim = table_.sample_victim(key, 8, worse);
        source_type* vs = victim ? table_.find(*victim) : nullptr;
        if (vs == nullptr || (vs->heavy && vs->heavy->active)) {
            ++stats_.sources_rejected;
            return nullptr;
        }
        ++stats_.sources_evicted;
        if (vs->heavy) ++stats_.sources_evicted_with_progress;
        table_.erase(*victim);
    }
    return table_.try_emplace(key, k.hash).first;
}

template <class Record, detector_clock Clock, class Allocator>
void scan_detector<Record, Clock, Allocator>::on_request(const record_view& v, const detail::hashed_key& k,
                                              std::uint64_t count) {
    if (config_.ignore_relayed && v.via_count >= 2) {
        ++stats_.relayed_ignored;
        return;
    }
    if (!config_.destination_filter.empty() && !config_.destination_filter.contains(v.server)) {
        ++stats_.filtered;
        return;
    }
    source_type* s = admit(k);
    if (s == nullptr) return;
    if (s->requests == 0) {
        s->first_seen = v.time;
        s->last_seen = v.time;
    }
    s->first_seen = std::min(s->first_seen, v.time);
    s->last_seen = std::max(s->last_seen, v.time);
    s->requests += count;
    stats_.requests += count;

    // A saturated target set neither grows nor takes new members: the
    // target's fingerprints would change nothing.
    if (!s->heavy || !s->heavy->targets.saturated()) {
        const std::string_view user = detail::called_user(v);
        const detail::target_fingerprints f = detail::fingerprints_of_target(v, user, hash_seed_);
        add_target(*s, v, f.target, f.host, f.user, user);
    }
    if (s->heavy) {
        note_user_agent(*s->heavy, v);
        if (s->heavy->active) note_change(*s->heavy);
    }
    maybe_activate(k.key, *s);
}

template <class Record, detector_clock Clock, class Allocator>
void scan_detector<Record, Clock, Allocator>::add_target(source_type& s, const record_view& v,
                                              std::uint32_t target_key, std::uint32_t host_key,
                                              std::uint32_t user_key, std::string_view user) {
    if (!s.heavy) {
        if (s.target_key == 0 && config_.threshold > 1) {
            s.target_key = target_key;
            s.host_key = host_key;
            s.user_key = user_key;
            return;
        }
        if (s.target_key == target_key) return;
        promote(s);
    }
    heavy_type& h = *s.heavy;
    if (h.targets.insert(target_key, config_.max_distinct) != detail::fingerprint_set::insert_result::added) return;
    h.hosts.insert(host_key, config_.max_distinct);
    h.users.insert(user_key, config_.max_distinct);
    if (h.evidence.size() < config_.evidence_targets) {
        detail::kept_target t;
        t.host = v.server;
        t.port = v.server_port;
        t.set_user(user);
        // Room in both lists first: a failed allocation must not leave them of different lengths.
        detail::make_room_for_one(h.evidence);
        detail::make_room_for_one(h.evidence_keys);
        h.evidence.push_back(std::move(t));
        h.evidence_keys.push_back(target_key);
    }
}

template <class Record, detector_clock Clock, class Allocator>
void scan_detector<Record, Clock, Allocator>::promote(source_type& s) {
    auto h = detail::allocate_unique<heavy_type>(alloc_, alloc_);
    if (s.target_key != 0) {
        h->targets.insert(s.target_key, config_.max_distinct);
        h->targets.set_flags(s.target_key, s.first_answers);
        h->hosts.insert(s.host_key, config_.max_distinct);
        h->users.insert(s.user_key, config_.max_distinct);
        if (s.first_answers & 1u) ++h->successful_targets;
        if (s.first_answers & 2u) ++h->failed_targets;
    }
    s.heavy = std::move(h);
}

// Tools are matched on the user agents as they are first recorded (and on
// sundayddr's From user), not on every request: a requester's agent rarely
// changes. The hashes of the last agent and the last From seen spare the
// comparisons and the From user check while they stay the same (the hashes
// are seeded, so a sender cannot aim for a collision).
template <class Record, detector_clock Clock, class Allocator>
void scan_detector<Record, Clock, Allocator>::note_user_agent(heavy_type& h, const record_view& v) {
    if (h.tool == 0) {
        const std::uint64_t from_hash = detail::hash_bytes(v.from_uri, hash_seed_);
        if (from_hash != h.last_from_hash) {
            h.last_from_hash = from_hash;
            const std::string_view from_user = uri_user(v.from_uri);
            if (from_user == detail::sundayddr_from_user) h.tool = detail::match_scanner_tool({}, from_user);
        }
    }
    if (v.user_agent.empty() || h.user_agents.size() >= config_.max_user_agents) return;
    const std::string_view ua = detail::head(v.user_agent, user_agent_cap);
    const std::uint64_t ua_hash = detail::hash_bytes(ua, hash_seed_);
    if (ua_hash == h.last_user_agent_hash) return;
    h.last_user_agent_hash = ua_hash;
    if (std::find(h.user_agents.begin(), h.user_agents.end(), ua) != h.user_agents.end()) return;
    h.user_agents.emplace_back(ua.data(), ua.size(), typename detail::allocated_string<Allocator>::allocator_type(alloc_));
    if (h.tool == 0) h.tool = detail::match_scanner_tool(ua, uri_user(v.from_uri));
}

template <class Record, detector_clock Clock, class Allocator>
void scan_detector<Record, Clock, Allocator>::on_answer(const record_view& v, const detail::hashed_key& k, bool success,
                                             bool failure, std::uint16_t status) {
    source_type* s = table_.find(k.key, k.hash, k.position_hint);
    if (s == nullptr) return;
    const std::uint32_t target_key = detail::fingerprints_of_target(v, detail::called_user(v), hash_seed_).target;
    const std::uint32_t flags = (success ? 1u : 0u) | (failure ? 2u : 0u);
    if (!s->heavy) {
        if (s->target_key != target_key) return;
        s->first_answers = static_cast<std::uint8_t>(s->first_answers | flags);
        ++stats_.responses_matched;
        return;
    }
    heavy_type& h = *s->heavy;
    const std::uint32_t fresh = h.targets.set_flags(target_key, flags);
    if (fresh & 1u) ++h.successful_targets;
    if (fresh & 2u) ++h.failed_targets;
    const auto at = std::find(h.evidence_keys.begin(), h.evidence_keys.end(), target_key);
    if (at != h.evidence_keys.end()) {
        detail::kept_target& t = h.evidence[static_cast<std::size_t>(at - h.evidence_keys.begin())];
        t.answered_success = t.answered_success || success;
        t.answered_failure = t.answered_failure || failure;
        t.status = detail::merged_status(t.status, status);
    }
    ++stats_.responses_matched;
    if (h.active && fresh) note_change(h);
}

template <class Record, detector_clock Clock, class Allocator>
void scan_detector<Record, Clock, Allocator>::maybe_activate(const detail::source_key& key, source_type& s) {
    if (!s.heavy || s.heavy->active) return;
    heavy_type& h = *s.heavy;
    const std::uint32_t targets = h.targets.size();
    if (targets < config_.threshold) return;
    if (key.tag == static_cast<std::uint8_t>(scan_submethod::register_) &&
        static_cast<double>(h.successful_targets) > config_.max_success_share * static_cast<double>(targets))
        return;
    active_.push_back(key); // first: if it cannot allocate, the scan stays inactive, not half-started
    h.active = true;
    h.start_pending = true;
    h.changed = false;
    h.event_id = next_event_id_++;
    next_active_due_ = record_time::min(); // its start
}

template <class Record, detector_clock Clock, class Allocator>
scan_event scan_detector<Record, Clock, Allocator>::make_event(scan_phase phase, const detail::source_key& key,
                                                    const source_type& s) const {
    const heavy_type& h = *s.heavy;
    scan_event e;
    e.phase = phase;
    e.id = h.event_id;
    e.source = key.address;
    e.submethod = static_cast<scan_submethod>(key.tag);
    e.hosts = h.hosts.size();
    e.users = h.users.size();
    e.targets = h.targets.size();
    e.counts_saturated = h.targets.saturated() || h.hosts.saturated() || h.users.saturated();
    if (e.hosts >= config_.threshold && e.users >= config_.threshold) e.kind = scan_kind::mixed;
    else e.kind = e.hosts >= e.users ? scan_kind::horizontal : scan_kind::vertical;
    e.requests = s.requests;
    e.successful_targets = h.successful_targets;
    e.failed_targets = h.failed_targets;
    e.first_seen = s.first_seen;
    e.last_seen = s.last_seen;
    e.sample.reserve(h.evidence.size());
    for (const detail::kept_target& t : h.evidence) e.sample.push_back(t.to_target());
    e.user_agents.reserve(h.user_agents.size());
    for (const auto& ua : h.user_agents) e.user_agents.emplace_back(ua.data(), ua.size());
    e.tool = std::string(detail::scanner_tool_name(h.tool));
    return e;
}

template <class Record, detector_clock Clock, class Allocator>
std::vector<scan_event> scan_detector<Record, Clock, Allocator>::poll() {
    return emit(false);
}

template <class Record, detector_clock Clock, class Allocator>
std::vector<scan_event> scan_detector<Record, Clock, Allocator>::flush() {
    return emit(true);
}

// poll() and flush(). Every event is made before anything changes: if an
// allocation fails, the detector is as it was and the next call returns the
// same events (README "Exception safety").
template <class Record, detector_clock Clock, class Allocator>
std::vector<scan_event> scan_detector<Record, Clock, Allocator>::emit(bool end_all) {
    const detail::time_gate time_before = time_;
    std::vector<scan_event> out;
    key_list still_active{typename key_list::allocator_type(alloc_)};
    record_time now{};
    try {
        now = this->poll_now();
        if (now >= next_active_due_ || end_all) {
            still_active.reserve(active_.size());
            for (const detail::source_key& key : active_)
                if (const source_type* s = table_.find(key); s != nullptr && s->heavy)
                    make_due_events(now, key, *s, out);
            std::stable_sort(out.begin(), out.end(), [](const scan_event& a, const scan_event& b) {
                if (a.id != b.id) return a.id < b.id;
                return a.phase < b.phase;
            });
            // At the end of input the scans still going end after what was due anyway.
            if (end_all) {
                for (const detail::source_key& key : active_) {
                    const source_type* s = table_.find(key);
                    if (s != nullptr && s->heavy && !(now - s->last_seen >= config_.event_idle_timeout))
                        out.push_back(make_event(scan_phase::end, key, *s));
                }
            }
        }
    } catch (...) {
        time_ = time_before;
        throw;
    }
    if (now >= next_active_due_ || end_all) commit_due_events(now, end_all, still_active);
    sweep(now);
    return out;
}

// The events due for one active scan at `now`: a pending start, then its end
// once idle, or else an update when it changed and the interval has passed.
template <class Record, detector_clock Clock, class Allocator>
void scan_detector<Record, Clock, Allocator>::make_due_events(record_time now, const detail::source_key& key,
                                                   const source_type& s, std::vector<scan_event>& out) const {
    const heavy_type& h = *s.heavy;
    if (h.start_pending) out.push_back(make_event(scan_phase::start, key, s));
    const record_time last_emitted = h.start_pending ? now : h.last_emitted;
    const bool changed = h.changed && !h.start_pending;
    if (now - s.last_seen >= config_.event_idle_timeout) out.push_back(make_event(scan_phase::end, key, s));
    else if (changed && now - last_emitted >= config_.update_interval)
        out.push_back(make_event(scan_phase::update, key, s));
}

// The state changes of the events make_due_events() made, and the next time
// one can be due: a scan ends event_idle_timeout after its last request, and
// updates update_interval after its last event once it has changed
// (note_change() lowers the time when a scan changes later; maybe_activate()
// when a scan starts). Allocates nothing: `still_active` has room for every
// active scan.
template <class Record, detector_clock Clock, class Allocator>
void scan_detector<Record, Clock, Allocator>::commit_due_events(record_time now, bool end_all,
                                                     key_list& still_active) noexcept {
    next_active_due_ = record_time::max();
    for (const detail::source_key& key : active_) {
        source_type* s = table_.find(key);
        if (s == nullptr || !s->heavy) continue;
        heavy_type& h = *s->heavy;
        if (h.start_pending) {
            h.start_pending = false;
            h.changed = false;
            h.last_emitted = now;
            ++stats_.events_started;
        }
        if (end_all || now - s->last_seen >= config_.event_idle_timeout) {
            ++stats_.events_ended;
            table_.erase(key); // a later scan from this source starts from zero
            continue;
        }
        if (h.changed && now - h.last_emitted >= config_.update_interval) {
            h.changed = false;
            h.last_emitted = now;
        }
        next_active_due_ = std::min(next_active_due_, detail::later_by(s->last_seen, config_.event_idle_timeout));
        if (h.changed)
            next_active_due_ = std::min(next_active_due_, detail::later_by(h.last_emitted, config_.update_interval));
        still_active.push_back(key);
    }
    active_.swap(still_active);
}

template <class Record, detector_clock Clock, class Allocator>
void scan_detector<Record, Clock, Allocator>::sweep(record_time now) noexcept {
    // A full pass at most once per tenth of the idle timeout keeps poll() cheap.
    if (!this->sweep_due(now, config_.source_idle_timeout / 10)) return;
    stats_.sources_expired += table_.erase_if([&](const source_type& s) {
        return detail::further_than(now, s.last_seen, config_.source_idle_timeout) && !(s.heavy && s.heavy->active);
    });
    table_.shrink_index();
}

template <class Record, detector_clock Clock, class Allocator>
scan_stats scan_detector<Record, Clock, Allocator>::stats() const {
    scan_stats s = stats_;
    s.tracked = table_.size();
    std::size_t bytes = table_.memory_bytes();
    table_.for_each([&](const source_type& src) {
        if (!src.heavy) return;
        const heavy_type& h = *src.heavy;
        bytes += sizeof(h) + h.targets.memory_bytes() + h.hosts.memory_bytes() + h.users.memory_bytes() +
                 h.evidence.capacity() * sizeof(detail::kept_target) + h.evidence_keys.capacity() * sizeof(std::uint32_t) +
                 h.user_agents.capacity() * sizeof(h.user_agents[0]);
        for (const auto& ua : h.user_agents) bytes += ua.capacity() > 15 ? ua.capacity() + 1 : 0;
    });
    s.memory_bytes = bytes;
    return s;
}

// ---------------------------------------------------------------------------
// Persistent state. Field order is the format; README "State files" lists it.

namespace detail {

// Cumulative counters that survive a restart; gauges (tracked, memory) are recomputed.
inline constexpr std::array<std::uint64_t scan_stats::*, 14> saved_scan_counters{
    &scan_stats::records,          &scan_stats::requests,       &scan_stats::responses_matched,
    &scan_stats::relayed_ignored,  &scan_stats::filtered,       &scan_stats::malformed_dropped,
    &scan_stats::late_dropped,     &scan_stats::future_dropped,
    &scan_stats::sources_evicted, &scan_stats::sources_evicted_with_progress, &scan_stats::sources_rejected,
    &scan_stats::sources_expired, &scan_stats::events_started,                &scan_stats::events_ended};

// Smallest saved sizes, against which counts are checked before anything is read.
inline constexpr std::size_t min_saved_scan_source = 16 + 1 + 8 + 8 + 8 + 4 + 4 + 4 + 1 + 1;
inline constexpr std::size_t min_saved_evidence = 4 + 16 + 2 + 4 + 1 + 1 + 2;
inline constexpr std::size_t saved_source_key = 16 + 1;

// Saved tool names are at most this long; today's are far shorter.
inline constexpr std::size_t max_tool_name = 64;
// Format version 2 saved a tool as 1 + its index in scanner_user_agents as
// it was then; this is that table's tools, frozen.
inline constexpr std::array<std::string_view, 11> v2_scanner_tools{
    "sipvicious", "sipvicious", "sipvicious", "sippts", "sipcli", "vaxsip",
    "sipsak",     "iwar",       "smap",       "sivus",  "sundayddr"};

// A scanner tool's id from its saved name ("" for none).
inline std::uint8_t scanner_tool_of(state_reader& r, std::string_view name) {
    if (name.empty()) return 0;
    for (std::uint8_t id = 1; id <= scanner_user_agents.size(); ++id)
        if (scanner_tool_name(id) == name) return id;
    r.fail("unknown scanner tool \"" + std::string(name) + "\"");
}

template <> struct config_schema<scan_config> {
    static constexpr state_kind kind = state_kind::scan;
    static const auto& fields() noexcept { return scan_config_fields; }
    static const auto& counters() noexcept { return saved_scan_counters; }
};

} // namespace detail

template <class Record, detector_clock Clock, class Allocator>
void scan_detector<Record, Clock, Allocator>::save(std::ostream& out) const {
    this->save_state(out, [&](auto& w) {
        w.u64(table_.size());
        table_.for_each([&](const source_type& s) {
            w.address(s.address);
            w.u8(s.submethod);
            w.time(s.first_seen);
            w.time(s.last_seen);
            w.u64(s.requests);
            w.u32(s.target_key);
            w.u32(s.host_key);
            w.u32(s.user_key);
            w.u8(s.first_answers);
            w.boolean(s.heavy != nullptr);
            if (!s.heavy) return;
            const heavy_type& h = *s.heavy;
            detail::write_set(w, h.targets);
            detail::write_set(w, h.hosts);
            detail::write_set(w, h.users);
            w.u64(h.evidence.size());
            for (std::size_t k = 0; k < h.evidence.size(); ++k) {
                const detail::kept_target& t = h.evidence[k];
                w.u32(h.evidence_keys[k]);
                w.address(t.host);
                w.u16(t.port);
                w.bytes(t.user());
                w.boolean(t.answered_success);
                w.boolean(t.answered_failure);
                w.u16(t.status);
            }
            detail::write_strings(w, h.user_agents);
            w.u32(h.successful_targets);
            w.u32(h.failed_targets);
            w.bytes(detail::scanner_tool_name(h.tool));
            w.boolean(h.active);
            w.boolean(h.start_pending);
            w.boolean(h.changed);
            w.u64(h.event_id);
            w.time(h.last_emitted);
        });
        w.u64(active_.size());
        for (const detail::source_key& key : active_) {
            w.address(key.address);
            w.u8(key.tag);
        }
    });
}

// Reads format versions 3 and 2. Version 2 also saved each entry's index
// bucket (and the bucket count) and the scanner tool as an index: the
// buckets are skipped, as the entries are inserted again in storage order.
template <class Record, detector_clock Clock, class Allocator>
load_report scan_detector<Record, Clock, Allocator>::load(std::istream& in) {
    detail::state_reader r(in, detail::state_kind::scan);
    const bool v2 = r.version() == 2;
    auto head = this->read_head(r);
    const record_time newest = head.newest;
    const std::uint64_t next_event_id = head.next_event_id;

    table_type table(detail::source_key_hasher{head.hash_seed}, typename table_type::allocator_type(alloc_));
    if (v2) (void)r.u64(); // bucket count
    const std::uint64_t entries =
        r.count(config_.max_tracked, detail::min_saved_scan_source + (v2 ? 8 : 0), "tracked source");
    for (std::uint64_t n = 0; n < entries; ++n) {
        if (v2) (void)r.u64(); // bucket
        detail::source_key key;
        key.address = r.address();
        key.tag = r.u8();
        if (key.tag >= scan_submethod_names.size()) r.fail("unknown submethod");
        const auto [s, added] = table.try_emplace(key);
        if (!added) r.fail("tracked source listed twice");
        s->first_seen = r.time_until(newest);
        s->last_seen = r.time_until(newest);
        s->requests = r.u64();
        s->target_key = r.u32();
        s->host_key = r.u32();
        s->user_key = r.u32();
        s->first_answers = r.u8();
        if (s->first_answers > 3) r.fail("answer flags out of range");
        if (s->first_seen > s->last_seen) r.fail("first_seen after last_seen");
        if (!r.boolean()) continue;
        auto h = detail::allocate_unique<heavy_type>(alloc_, alloc_);
        detail::read_set(r, h->targets, config_.max_distinct, "targets");
        detail::read_set(r, h->hosts, config_.max_distinct, "hosts");
        detail::read_set(r, h->users, config_.max_distinct, "users");
        const std::uint64_t evidence = r.count(detail::max_evidence_limit, detail::min_saved_evidence, "evidence target");
        for (std::uint64_t k = 0; k < evidence; ++k) {
            const std::uint32_t target_key = r.u32();
            detail::kept_target t;
            t.host = r.address();
            t.port = r.u16();
            t.set_user(r.bytes(scan_user_cap));
            t.answered_success = r.boolean();
            t.answered_failure = r.boolean();
            t.status = r.u16();
            if (h->targets.flags(target_key) != ((t.answered_success ? 1u : 0u) | (t.answered_failure ? 2u : 0u)))
                r.fail("evidence target disagrees with the target set");
            if (h->evidence.size() < config_.evidence_targets) {
                h->evidence.push_back(t);
                h->evidence_keys.push_back(target_key);
            }
        }
        detail::read_strings(r, h->user_agents, detail::max_user_agents_limit, user_agent_cap, "user agent");
        if (h->user_agents.size() > config_.max_user_agents) h->user_agents.resize(config_.max_user_agents);
        h->successful_targets = r.u32();
        h->failed_targets = r.u32();
        if (h->successful_targets > h->targets.size() || h->failed_targets > h->targets.size())
            r.fail("more answered targets than targets");
        if (v2) {
            const std::uint8_t v2_tool = r.u8();
            if (v2_tool > detail::v2_scanner_tools.size()) r.fail("unknown scanner tool");
            h->tool = detail::scanner_tool_of(r, v2_tool == 0 ? "" : detail::v2_scanner_tools[v2_tool - 1u]);
        } else {
            h->tool = detail::scanner_tool_of(r, r.bytes(detail::max_tool_name));
        }
        h->active = r.boolean();
        h->start_pending = r.boolean();
        h->changed = r.boolean();
        h->event_id = r.u64();
        h->last_emitted = r.time(); // set by the start event; until then the 1970 default
        if (h->active && !h->start_pending && h->last_emitted > newest) r.fail("event after the newest poll");
        if (h->active && (h->event_id == 0 || h->event_id >= next_event_id)) r.fail("event id out of range");
        if (!h->active && (h->start_pending || h->changed)) r.fail("inactive scan with pending events");
        s->heavy = std::move(h);
    }
    key_list active{typename key_list::allocator_type(alloc_)};
    const std::uint64_t active_count = r.count(entries, detail::saved_source_key, "active scan");
    for (std::uint64_t n = 0; n < active_count; ++n) {
        detail::source_key key;
        key.address = r.address();
        key.tag = r.u8();
        const source_type* s = table.find(key);
        if (s == nullptr || !s->heavy || !s->heavy->active) r.fail("active scan without an active entry");
        active.push_back(key);
    }
    if (detail::any_repeated(active)) r.fail("active scan listed twice");
    std::size_t active_entries = 0;
    table.for_each([&](const source_type& s) {
        if (s.heavy && s.heavy->active) ++active_entries;
    });
    if (active_entries != active.size()) r.fail("active entries missing from the active list");
    r.finish();
    // Commit: nothing above touched *this.
    table_ = std::move(table);
    active_ = std::move(active);
    next_active_due_ = record_time::min(); // the loaded scans are checked at the next poll
    return this->commit_head(std::move(head));
}

SIPDETECT_NAMESPACE_END
