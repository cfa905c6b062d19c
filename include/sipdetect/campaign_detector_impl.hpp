// sipdetect: campaign_detector member definitions (included by campaign_detector.hpp).
#pragma once

#include <sipdetect/campaign_detector.hpp>
#include <sipdetect/detail/state_io.hpp>
#include <sipdetect/scanner_tools.hpp>

#include <algorithm>
#include <array>
#include <istream>
#include <ostream>
#include <string>

SIPDETECT_NAMESPACE_BEGIN

namespace detail {

template <class T> using campaign_field = config_field<campaign_config, T>;

// Every field of campaign_config but the seed, with what it accepts. Order is the state format.
inline const auto campaign_config_fields = std::make_tuple(
    campaign_field<bool>{"register_scan", &campaign_config::register_scan},
    campaign_field<bool>{"options_scan", &campaign_config::options_scan},
    campaign_field<bool>{"invite_scan", &campaign_config::invite_scan},
    campaign_field<std::uint32_t>{"campaign_threshold", &campaign_config::campaign_threshold, 2, unbounded_u32},
    campaign_field<record_duration>{"campaign_window", &campaign_config::campaign_window, at_least_1us, unbounded_duration},
    campaign_field<std::uint32_t>{"min_sources", &campaign_config::min_sources, 2, max_distinct_limit},
    campaign_field<std::uint32_t>{"scan_threshold", &campaign_config::scan_threshold, 2, max_distinct_limit},
    campaign_field<record_duration>{"event_idle_timeout", &campaign_config::event_idle_timeout, at_least_1us,
                                    unbounded_duration},
    campaign_field<record_duration>{"update_interval", &campaign_config::update_interval, record_duration::zero(),
                                    unbounded_duration},
    campaign_field<record_duration>{"source_idle_timeout", &campaign_config::source_idle_timeout, at_least_1us,
                                    unbounded_duration},
    campaign_field<std::uint64_t>{"max_tracked", &campaign_config::max_tracked, 1, max_table_entries},
    campaign_field<std::uint64_t>{"max_groups", &campaign_config::max_groups, 1, max_table_entries},
    campaign_field<std::uint32_t>{"max_members", &campaign_config::max_members, 2, max_distinct_limit},
    campaign_field<std::uint32_t>{"source_samples", &campaign_config::source_samples, 0, max_evidence_limit},
    campaign_field<bool>{"ignore_relayed", &campaign_config::ignore_relayed},
    campaign_field<prefix_set>{"destination_filter", &campaign_config::destination_filter},
    campaign_field<record_duration>{"max_lateness", &campaign_config::max_lateness, record_duration::zero(),
                                    unbounded_duration},
    campaign_field<record_duration>{"max_clock_skew", &campaign_config::max_clock_skew, record_duration::zero(),
                                    unbounded_duration});

} // namespace detail

inline void campaign_config::validate() const {
    detail::check_fields(*this, detail::campaign_config_fields, "campaign_config");
    if (min_sources > max_members)
        throw config_error("campaign_config.min_sources " + std::to_string(min_sources) + " exceeds max_members " +
                           std::to_string(max_members) + ": no group could list enough members");
    const std::uint64_t reachable = std::uint64_t{max_members} * (scan_threshold - 1u);
    if (campaign_threshold > reachable)
        throw config_error("campaign_config.campaign_threshold " + std::to_string(campaign_threshold) +
                           " exceeds what max_members sources below scan_threshold can probe (" +
                           std::to_string(reachable) + ")");
}

namespace detail {

// Whether a URI host (uri_host(): an IPv6 host without its brackets) names this address.
inline bool host_is(std::string_view host, const ip_address& address) noexcept {
    const std::optional<ip_address> parsed = ip_address::try_parse(host);
    return parsed && *parsed == address;
}

// What a probe says about its sender, before hashing. A From part that
// names the target is an artefact of the target, not of the sender: it is
// recorded as "mirrors the target" so that the sources of one tool agree.
inline probe_fingerprint fingerprint_parts(const record_view& v) noexcept {
    probe_fingerprint p;
    p.user_agent = head(v.user_agent, user_agent_cap);
    const std::string_view from_user = uri_user(v.from_uri);
    const std::string_view target_user = called_user(v);
    if (!from_user.empty() && from_user == target_user) p.from_user_part = from_part::mirrors_target;
    else p.from_user = head(from_user, fingerprint_part_cap);
    const std::string_view from_host = sipdetect::uri_host(v.from_uri);
    if (host_is(from_host, v.server)) p.from_host_part = from_part::mirrors_target;
    else p.from_host = head(from_host, fingerprint_part_cap);
    return p;
}

inline void quote_into(std::string& out, std::string_view s) {
    out += '"';
    for (const char c : s) out += (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\') ? '?' : c;
    out += '"';
}

// The fingerprint in words a person can check against the traffic.
template <class Group> std::string fingerprint_text(const Group& g) {
    std::string out(to_string(static_cast<scan_submethod>(g.submethod)));
    out += "; User-Agent ";
    if (g.user_agent.empty()) out += "absent";
    else quote_into(out, g.user_agent);
    out += "; From user ";
    if (g.from_user_part == from_part::mirrors_target) out += "mirrors the called user";
    else if (g.from_user.empty()) out += "absent";
    else quote_into(out, g.from_user);
    out += "; From host ";
    if (g.from_host_part == from_part::mirrors_target) out += "mirrors the target";
    else if (g.from_host.empty()) out += "absent";
    else quote_into(out, g.from_host);
    return out;
}

// Distinct values of a list, sorting it.
template <class Keys> std::uint32_t distinct_count(Keys& keys) {
    std::sort(keys.begin(), keys.end());
    return static_cast<std::uint32_t>(std::unique(keys.begin(), keys.end()) - keys.begin());
}

} // namespace detail

template <class Record, detector_clock Clock, class Allocator>
campaign_detector<Record, Clock, Allocator>::campaign_detector(campaign_config config, Clock clock,
                                                               const Allocator& allocator)
    : base(std::move(config), std::move(clock), allocator),
      enabled_submethods_(detail::submethod_mask(config_)),
      sources_(detail::source_key_hasher{hash_seed_}, typename source_table::allocator_type(alloc_)),
      groups_(detail::fingerprint_key_hasher{hash_seed_}, typename group_table::allocator_type(alloc_)),
      active_(typename group_list::allocator_type(alloc_)), dirty_(typename group_list::allocator_type(alloc_)),
      count_targets_(typename decltype(count_targets_)::allocator_type(alloc_)),
      count_hosts_(typename decltype(count_hosts_)::allocator_type(alloc_)),
      count_users_(typename decltype(count_users_)::allocator_type(alloc_)) {}

template <class Record, detector_clock Clock, class Allocator>
bool campaign_detector<Record, Clock, Allocator>::key_of(const record_view& v, detail::source_key& key) const noexcept {
    scan_submethod m;
    if (v.is_counters || !detail::to_submethod(v.method, m) || !enabled(static_cast<std::uint8_t>(m))) return false;
    key = detail::source_key{v.client, static_cast<std::uint8_t>(m)};
    return true;
}

template <class Record, detector_clock Clock, class Allocator>
void campaign_detector<Record, Clock, Allocator>::feed_view(const record_view& v, const lookup_type& k) {
    if (!this->admit_record(v)) return;
    if (v.is_response() && (v.status < 100 || v.status > 699)) {
        ++stats_.malformed_dropped;
        return;
    }
    // Counter records carry no From or User-Agent: nothing to fingerprint.
    if (!k.present) return;
    if (!v.is_response()) on_request(v, k);
    else if (v.status >= 200 && v.status < 300 && k.key.tag != static_cast<std::uint8_t>(scan_submethod::options))
        on_answer(k);
}

template <class Record, detector_clock Clock, class Allocator>
std::uint64_t campaign_detector<Record, Clock, Allocator>::fingerprint_of(const detail::probe_fingerprint& p,
                                                                           std::uint8_t submethod) const noexcept {
    const std::uint64_t seed = hash_seed_;
    std::uint64_t h = detail::hash_combine(detail::hash_bytes(p.user_agent, seed), submethod);
    h = detail::hash_combine(h, static_cast<std::uint64_t>(p.from_user_part) << 1 | static_cast<std::uint64_t>(p.from_host_part));
    h = detail::hash_combine(h, detail::hash_bytes(p.from_user, seed));
    return detail::hash_combine(h, detail::hash_bytes(p.from_host, seed));
}

template <class Record, detector_clock Clock, class Allocator>
void campaign_detector<Record, Clock, Allocator>::on_request(const record_view& v, const detail::hashed_key& k) {
    if (config_.ignore_relayed && v.via_count >= 2) {
        ++stats_.relayed_ignored;
        return;
    }
    if (!config_.destination_filter.empty() && !config_.destination_filter.contains(v.server)) {
        ++stats_.filtered;
        return;
    }
    ++stats_.requests;
    const detail::probe_fingerprint parts = detail::fingerprint_parts(v);
    const std::uint64_t fingerprint = fingerprint_of(parts, k.key.tag);
    source_type* s = admit_source(k);
    if (s->requests == 0) {
        s->fingerprint = fingerprint;
        s->first_seen = v.time;
        s->last_seen = v.time;
    }
    s->first_seen = std::min(s->first_seen, v.time);
    s->last_seen = std::max(s->last_seen, v.time);
    ++s->requests;
    if (s->status != detail::member_status::eligible) return;
    if (s->fingerprint != fingerprint) {
        exclude(*s, detail::member_status::inconsistent);
        return;
    }

    const detail::target_fingerprints f = detail::fingerprints_of_target(v, detail::called_user(v), hash_seed_);
    const detail::probed_target t{f.target, f.host, f.user, v.time};
    bool changed = false;
    const auto seen = std::find_if(s->targets.begin(), s->targets.end(),
                                   [&](const detail::probed_target& p) { return p.target_key == t.target_key; });
    if (seen != s->targets.end()) {
        changed = t.at > seen->at;
        seen->at = std::max(seen->at, t.at);
    } else {
        if (s->targets.size() + 1 >= config_.scan_threshold) {
            exclude(*s, detail::member_status::scanner);
            return;
        }
        s->targets.push_back(t);
        changed = true;
    }

    group_type* g = nullptr;
    if (s->member) {
        g = groups_.find(detail::fingerprint_key{s->fingerprint});
    } else if ((g = admit_group(detail::fingerprint_key{fingerprint}, parts, k.key.tag)) != nullptr) {
        if (g->members.size() >= config_.max_members) {
            ++stats_.members_rejected;
            return;
        }
        g->members.push_back(s->key());
        s->member = true;
        changed = true;
    }
    if (g == nullptr) return;
    g->last_seen = std::max(g->last_seen, v.time);
    if (changed) mark_dirty(*g);
}

template <class Record, detector_clock Clock, class Allocator>
void campaign_detector<Record, Clock, Allocator>::mark_dirty(group_type& g) {
    if (g.dirty) return;
    detail::make_room_for_one(dirty_);
    dirty_.push_back(g.key());
    g.dirty = true;
}

template <class Record, detector_clock Clock, class Allocator>
void campaign_detector<Record, Clock, Allocator>::on_answer(const detail::hashed_key& k) {
    source_type* s = sources_.find(k.key, k.hash, k.position_hint);
    if (s == nullptr) return;
    ++stats_.responses_matched;
    if (s->status == detail::member_status::eligible) exclude(*s, detail::member_status::answered);
}

template <class Record, detector_clock Clock, class Allocator>
auto campaign_detector<Record, Clock, Allocator>::admit_source(const detail::hashed_key& k) -> source_type* {
    if (source_type* s = sources_.find(k.key, k.hash, k.position_hint)) return s;
    if (sources_.size() >= config_.max_tracked) {
        // Victim: a non-member first, then the fewest targets, then the
        // longest silent. A spoofed one-probe source can only push out
        // another source of at most as many probes.
        auto worse = [](const source_type& a, const source_type& b) {
            if (a.member != b.member) return !a.member;
            if (a.targets.size() != b.targets.size()) return a.targets.size() < b.targets.size();
            return a.last_seen < b.last_seen;
        };
        if (const auto victim = sources_.sample_victim(k.key, 8, worse)) {
            leave_group(*sources_.find(*victim));
            sources_.erase(*victim);
            ++stats_.sources_evicted;
        }
    }
    source_type* s = sources_.try_emplace(k.key, k.hash).first;
    s->targets = decltype(s->targets)(typename decltype(s->targets)::allocator_type(alloc_));
    return s;
}

template <class Record, detector_clock Clock, class Allocator>
auto campaign_detector<Record, Clock, Allocator>::admit_group(const detail::fingerprint_key& key,
                                                              const detail::probe_fingerprint& parts,
                                                              std::uint8_t submethod) -> group_type* {
    if (group_type* g = groups_.find(key)) return g;
    if (groups_.size() >= config_.max_groups) {
        auto worse = [](const group_type& a, const group_type& b) {
            if (a.active != b.active) return !a.active;
            if (a.members.size() != b.members.size()) return a.members.size() < b.members.size();
            return a.last_seen < b.last_seen;
        };
        const auto victim = groups_.sample_victim(key, 8, worse);
        group_type* vg = victim ? groups_.find(*victim) : nullptr;
        if (vg == nullptr || vg->active) {
            ++stats_.groups_rejected;
            return nullptr;
        }
        for (const detail::source_key& m : vg->members)
            if (source_type* s = sources_.find(m)) s->member = false;
        if (vg->dirty) dirty_.erase(std::find(dirty_.begin(), dirty_.end(), *victim));
        groups_.erase(*victim);
        ++stats_.groups_evicted;
    }
    group_type* g = groups_.try_emplace(key).first;
    *g = group_type(alloc_);
    g->fingerprint = key.value;
    g->submethod = submethod;
    g->from_user_part = parts.from_user_part;
    g->from_host_part = parts.from_host_part;
    g->user_agent.assign(parts.user_agent);
    g->from_user.assign(parts.from_user);
    g->from_host.assign(parts.from_host);
    g->tool = detail::match_scanner_tool(parts.user_agent, parts.from_user);
    return g;
}

template <class Record, detector_clock Clock, class Allocator>
void campaign_detector<Record, Clock, Allocator>::exclude(source_type& s, detail::member_status why) {
    switch (why) {
    case detail::member_status::scanner: ++stats_.scanners_excluded; break;
    case detail::member_status::answered: ++stats_.answered_excluded; break;
    case detail::member_status::inconsistent: ++stats_.inconsistent_excluded; break;
    case detail::member_status::eligible: break;
    }
    leave_group(s);
    s.status = why;
    decltype(s.targets)(s.targets.get_allocator()).swap(s.targets);
}

template <class Record, detector_clock Clock, class Allocator>
void campaign_detector<Record, Clock, Allocator>::leave_group(source_type& s) noexcept {
    if (!s.member) return;
    s.member = false;
    unlist(s);
}

template <class Record, detector_clock Clock, class Allocator>
void campaign_detector<Record, Clock, Allocator>::unlist(const source_type& s) noexcept {
    group_type* g = groups_.find(detail::fingerprint_key{s.fingerprint});
    if (g == nullptr) return;
    const auto at = std::find(g->members.begin(), g->members.end(), s.key());
    if (at != g->members.end()) g->members.erase(at);
}

// Groups are counted at polls, not at each probe: a count walks every
// member's targets, and a group of a thousand members probing at once would
// otherwise be walked a thousand times a second. A group not yet a campaign
// is counted at the first poll after a probe, to start it; an active one only
// when it has an event due (its update, its end), so a large campaign is
// walked once per update_interval. The window ends at the group's latest
// probe, so a count is the same whenever it is made.
template <class Record, detector_clock Clock, class Allocator>
void campaign_detector<Record, Clock, Allocator>::recount_dirty(record_time now, bool end_all) {
    group_list still_dirty{typename group_list::allocator_type(alloc_)};
    still_dirty.reserve(dirty_.size());
    for (const detail::fingerprint_key& key : dirty_) {
        group_type* g = groups_.find(key);
        if (g == nullptr || !g->dirty) continue;
        const bool event_due = !g->active || g->start_pending || end_all ||
                               now - g->last_seen >= config_.event_idle_timeout ||
                               now - g->last_emitted >= config_.update_interval;
        if (!event_due) {
            still_dirty.push_back(key);
            continue;
        }
        recount(*g);
        g->dirty = false;
    }
    dirty_.swap(still_dirty);
}

// The group's counts over its members' probes within the window ending at
// its latest probe; a group reaching both thresholds becomes an active campaign.
template <class Record, detector_clock Clock, class Allocator>
void campaign_detector<Record, Clock, Allocator>::recount(group_type& g) {
    const record_time now = g.last_seen;
    auto& targets = count_targets_;
    auto& hosts = count_hosts_;
    auto& users = count_users_;
    targets.clear();
    hosts.clear();
    users.clear();
    std::uint32_t sources = 0;
    for (const detail::source_key& key : g.members) {
        const source_type* s = sources_.find(key);
        if (s == nullptr) continue;
        bool probed = false;
        for (const detail::probed_target& t : s->targets) {
            if (detail::further_than(now, t.at, config_.campaign_window)) continue;
            targets.push_back(t.target_key);
            hosts.push_back(t.host_key);
            users.push_back(t.user_key);
            probed = true;
        }
        sources += probed ? 1u : 0u;
    }
    const std::uint32_t n_targets = detail::distinct_count(targets);
    const std::uint32_t n_hosts = detail::distinct_count(hosts);
    const std::uint32_t n_users = detail::distinct_count(users);
    if (g.active) {
        if (n_targets != g.targets || n_hosts != g.hosts || n_users != g.users || sources != g.sources) g.changed = true;
    } else {
        if (n_targets < config_.campaign_threshold || sources < config_.min_sources) {
            g.sources = sources;
            g.targets = n_targets;
            g.hosts = n_hosts;
            g.users = n_users;
            return;
        }
        detail::make_room_for_one(active_);
        active_.push_back(g.key());
        g.active = true;
        g.start_pending = true;
        g.changed = false;
        g.event_id = next_event_id_++;
    }
    g.sources = sources;
    g.targets = n_targets;
    g.hosts = n_hosts;
    g.users = n_users;
}

template <class Record, detector_clock Clock, class Allocator>
campaign_event campaign_detector<Record, Clock, Allocator>::make_event(scan_phase phase, const group_type& g) const {
    campaign_event e;
    e.phase = phase;
    e.id = g.event_id;
    e.submethod = static_cast<scan_submethod>(g.submethod);
    e.sources = g.sources;
    e.hosts = g.hosts;
    e.users = g.users;
    e.targets = g.targets;
    if (e.hosts >= config_.campaign_threshold && e.users >= config_.campaign_threshold) e.kind = scan_kind::mixed;
    else e.kind = e.hosts >= e.users ? scan_kind::horizontal : scan_kind::vertical;
    e.first_seen = g.last_seen;
    e.last_seen = g.last_seen;
    for (const detail::source_key& key : g.members) {
        const source_type* s = sources_.find(key);
        if (s == nullptr) continue;
        if (e.source_sample.size() < config_.source_samples) e.source_sample.push_back(s->address);
        e.requests += s->requests;
        e.first_seen = std::min(e.first_seen, s->first_seen);
    }
    e.tool = std::string(detail::scanner_tool_name(g.tool));
    e.fingerprint = detail::fingerprint_text(g);
    return e;
}

template <class Record, detector_clock Clock, class Allocator>
std::vector<campaign_event> campaign_detector<Record, Clock, Allocator>::poll() {
    return emit(false);
}

template <class Record, detector_clock Clock, class Allocator>
std::vector<campaign_event> campaign_detector<Record, Clock, Allocator>::flush() {
    return emit(true);
}

// Every event is made before a campaign's phase changes: if an allocation
// fails, the groups may have been recounted (a new campaign then waits with
// its start pending), but no phase has moved, so the next call returns the
// same events (tests/test_exception_safety.cpp).
template <class Record, detector_clock Clock, class Allocator>
std::vector<campaign_event> campaign_detector<Record, Clock, Allocator>::emit(bool end_all) {
    const detail::time_gate time_before = time_;
    std::vector<campaign_event> out;
    record_time now{};
    try {
        now = this->poll_now();
        recount_dirty(now, end_all);
        for (const detail::fingerprint_key& key : active_) {
            const group_type& g = *groups_.find(key);
            if (g.start_pending) out.push_back(make_event(scan_phase::start, g));
            const bool idle = now - g.last_seen >= config_.event_idle_timeout;
            if (idle || end_all) out.push_back(make_event(scan_phase::end, g));
            else if (g.changed && !g.start_pending && now - g.last_emitted >= config_.update_interval)
                out.push_back(make_event(scan_phase::update, g));
        }
        std::stable_sort(out.begin(), out.end(), [](const campaign_event& a, const campaign_event& b) {
            return a.id != b.id ? a.id < b.id : a.phase < b.phase;
        });
    } catch (...) {
        time_ = time_before;
        throw;
    }
    group_list ended{typename group_list::allocator_type(alloc_)};
    ended.reserve(active_.size());
    for (const detail::fingerprint_key& key : active_) {
        group_type& g = *groups_.find(key);
        if (g.start_pending) {
            g.start_pending = false;
            g.changed = false;
            g.last_emitted = now;
            ++stats_.events_started;
        }
        if (end_all || now - g.last_seen >= config_.event_idle_timeout) ended.push_back(key);
        else if (g.changed && now - g.last_emitted >= config_.update_interval) {
            g.changed = false;
            g.last_emitted = now;
        }
    }
    for (const detail::fingerprint_key& key : ended) end_campaign(key);
    sweep(now);
    return out;
}

// A campaign that ended is forgotten with its group: its members join a
// fresh group at their next probe, and a later campaign starts from zero.
template <class Record, detector_clock Clock, class Allocator>
void campaign_detector<Record, Clock, Allocator>::end_campaign(const detail::fingerprint_key& key) noexcept {
    ++stats_.events_ended;
    active_.erase(std::find(active_.begin(), active_.end(), key));
    if (const group_type* g = groups_.find(key))
        for (const detail::source_key& m : g->members)
            if (source_type* s = sources_.find(m)) s->member = false;
    groups_.erase(key);
}

template <class Record, detector_clock Clock, class Allocator>
void campaign_detector<Record, Clock, Allocator>::sweep(record_time now) noexcept {
    if (!this->sweep_due(now, config_.source_idle_timeout / 10)) return;
    stats_.sources_expired += sources_.erase_if([&](const source_type& s) {
        if (!detail::further_than(now, s.last_seen, config_.source_idle_timeout)) return false;
        if (s.member) unlist(s);
        return true;
    });
    stats_.groups_expired += groups_.erase_if([](const group_type& g) { return g.members.empty() && !g.active; });
    sources_.shrink_index();
    groups_.shrink_index();
}

template <class Record, detector_clock Clock, class Allocator>
campaign_stats campaign_detector<Record, Clock, Allocator>::stats() const {
    campaign_stats s = stats_;
    s.tracked = sources_.size();
    s.groups = groups_.size();
    std::size_t bytes = sources_.memory_bytes() + groups_.memory_bytes() + active_.capacity() * sizeof(active_[0]);
    sources_.for_each([&](const source_type& src) { bytes += src.targets.capacity() * sizeof(detail::probed_target); });
    groups_.for_each([&](const group_type& g) {
        bytes += g.members.capacity() * sizeof(detail::source_key);
        for (const auto* text : {&g.user_agent, &g.from_user, &g.from_host})
            bytes += text->capacity() > 15 ? text->capacity() + 1 : 0;
    });
    s.memory_bytes = bytes;
    return s;
}

// ---------------------------------------------------------------------------
// Persistent state. Field order is the format; README "State files" lists it.

namespace detail {

inline constexpr std::array<std::uint64_t campaign_stats::*, 19> saved_campaign_counters{
    &campaign_stats::records,           &campaign_stats::requests,          &campaign_stats::responses_matched,
    &campaign_stats::relayed_ignored,   &campaign_stats::filtered,          &campaign_stats::malformed_dropped,
    &campaign_stats::late_dropped,      &campaign_stats::future_dropped,    &campaign_stats::scanners_excluded,
    &campaign_stats::answered_excluded, &campaign_stats::inconsistent_excluded, &campaign_stats::sources_evicted,
    &campaign_stats::sources_expired,   &campaign_stats::groups_evicted,    &campaign_stats::groups_rejected,
    &campaign_stats::groups_expired,    &campaign_stats::members_rejected,  &campaign_stats::events_started,
    &campaign_stats::events_ended};

template <> struct config_schema<campaign_config> {
    static constexpr state_kind kind = state_kind::campaign;
    static const auto& fields() noexcept { return campaign_config_fields; }
    static const auto& counters() noexcept { return saved_campaign_counters; }
};

// Whether a list of group keys read from a state file names one twice (sorting a copy).
template <class Keys> bool any_repeated_fingerprint(const Keys& list) {
    std::vector<std::uint64_t> values;
    values.reserve(list.size());
    for (const fingerprint_key& key : list) values.push_back(key.value);
    std::sort(values.begin(), values.end());
    return std::adjacent_find(values.begin(), values.end()) != values.end();
}

// Smallest saved sizes, against which counts are checked before anything is read.
inline constexpr std::size_t min_saved_campaign_source = 16 + 1 + 1 + 1 + 8 + 8 + 8 + 8 + 8;
inline constexpr std::size_t min_saved_probed_target = 4 + 4 + 4 + 8;
inline constexpr std::size_t min_saved_campaign_group = 8 + 1 + 4 + 1 + 1 + 4 + 4 + 4 + 8 + 8 + 1 + 1 + 1 + 1 + 8 + 8 + 16;

} // namespace detail

template <class Record, detector_clock Clock, class Allocator>
void campaign_detector<Record, Clock, Allocator>::save(std::ostream& out) const {
    this->save_state(out, [&](auto& w) {
        w.u64(sources_.size());
        sources_.for_each([&](const source_type& s) {
            w.address(s.address);
            w.u8(s.submethod);
            w.u8(static_cast<std::uint8_t>(s.status));
            w.boolean(s.member);
            w.u64(s.fingerprint);
            w.time(s.first_seen);
            w.time(s.last_seen);
            w.u64(s.requests);
            w.u64(s.targets.size());
            for (const detail::probed_target& t : s.targets) {
                w.u32(t.target_key);
                w.u32(t.host_key);
                w.u32(t.user_key);
                w.time(t.at);
            }
        });
        w.u64(groups_.size());
        groups_.for_each([&](const group_type& g) {
            w.u64(g.fingerprint);
            w.u8(g.submethod);
            w.bytes(detail::scanner_tool_name(g.tool));
            w.u8(static_cast<std::uint8_t>(g.from_user_part));
            w.u8(static_cast<std::uint8_t>(g.from_host_part));
            w.bytes(g.user_agent);
            w.bytes(g.from_user);
            w.bytes(g.from_host);
            w.u64(g.members.size());
            for (const detail::source_key& m : g.members) {
                w.address(m.address);
                w.u8(m.tag);
            }
            w.time(g.last_seen);
            w.boolean(g.dirty);
            w.boolean(g.active);
            w.boolean(g.start_pending);
            w.boolean(g.changed);
            w.u64(g.event_id);
            w.time(g.last_emitted);
            w.u32(g.sources);
            w.u32(g.hosts);
            w.u32(g.users);
            w.u32(g.targets);
        });
        w.u64(active_.size());
        for (const detail::fingerprint_key& key : active_) w.u64(key.value);
        std::uint64_t dirty = 0;
        groups_.for_each([&](const group_type& g) { dirty += g.dirty ? 1 : 0; });
        w.u64(dirty);
        for (const detail::fingerprint_key& key : dirty_)
            if (const group_type* g = groups_.find(key); g != nullptr && g->dirty) w.u64(key.value);
    });
}

template <class Record, detector_clock Clock, class Allocator>
load_report campaign_detector<Record, Clock, Allocator>::load(std::istream& in) {
    detail::state_reader r(in, detail::state_kind::campaign);
    auto head = this->read_head(r);
    const record_time newest = head.newest;

    source_table sources(detail::source_key_hasher{head.hash_seed}, typename source_table::allocator_type(alloc_));
    const std::uint64_t n_sources = r.count(config_.max_tracked, detail::min_saved_campaign_source, "tracked source");
    std::size_t members_flagged = 0;
    for (std::uint64_t n = 0; n < n_sources; ++n) {
        detail::source_key key;
        key.address = r.address();
        key.tag = r.u8();
        if (key.tag >= scan_submethod_names.size()) r.fail("unknown submethod");
        const auto [s, added] = sources.try_emplace(key);
        if (!added) r.fail("tracked source listed twice");
        s->targets = decltype(s->targets)(typename decltype(s->targets)::allocator_type(alloc_));
        const std::uint8_t status = r.u8();
        if (status >= detail::member_status_count) r.fail("unknown member status");
        s->status = static_cast<detail::member_status>(status);
        s->member = r.boolean();
        if (s->member && s->status != detail::member_status::eligible) r.fail("excluded source listed as a member");
        members_flagged += s->member ? 1 : 0;
        s->fingerprint = r.u64();
        s->first_seen = r.time_until(newest);
        s->last_seen = r.time_until(newest);
        if (s->first_seen > s->last_seen) r.fail("first_seen after last_seen");
        s->requests = r.u64();
        const std::uint64_t n_targets = r.count(config_.scan_threshold - 1u, detail::min_saved_probed_target, "probed target");
        if (n_targets > 0 && s->status != detail::member_status::eligible) r.fail("excluded source with targets");
        for (std::uint64_t t = 0; t < n_targets; ++t) {
            detail::probed_target p;
            p.target_key = r.u32();
            p.host_key = r.u32();
            p.user_key = r.u32();
            p.at = r.time_until(newest);
            if (std::any_of(s->targets.begin(), s->targets.end(),
                            [&](const detail::probed_target& q) { return q.target_key == p.target_key; }))
                r.fail("probed target listed twice");
            s->targets.push_back(p);
        }
    }

    group_table groups(detail::fingerprint_key_hasher{head.hash_seed}, typename group_table::allocator_type(alloc_));
    const std::uint64_t n_groups = r.count(config_.max_groups, detail::min_saved_campaign_group, "group");
    std::size_t members_listed = 0;
    std::size_t active_groups = 0;
    std::size_t dirty_groups = 0;
    for (std::uint64_t n = 0; n < n_groups; ++n) {
        const detail::fingerprint_key key{r.u64()};
        const auto [g, added] = groups.try_emplace(key);
        if (!added) r.fail("group listed twice");
        *g = group_type(alloc_);
        g->fingerprint = key.value;
        g->submethod = r.u8();
        if (g->submethod >= scan_submethod_names.size()) r.fail("unknown submethod");
        g->tool = detail::scanner_tool_of(r, r.bytes(detail::max_tool_name));
        const std::uint8_t user_part = r.u8();
        const std::uint8_t host_part = r.u8();
        if (user_part > 1 || host_part > 1) r.fail("unknown From part");
        g->from_user_part = static_cast<detail::from_part>(user_part);
        g->from_host_part = static_cast<detail::from_part>(host_part);
        const std::string ua = r.bytes(user_agent_cap);
        const std::string from_user = r.bytes(detail::fingerprint_part_cap);
        const std::string from_host = r.bytes(detail::fingerprint_part_cap);
        g->user_agent.assign(ua);
        g->from_user.assign(from_user);
        g->from_host.assign(from_host);
        const std::uint64_t n_members = r.count(config_.max_members, detail::saved_source_key, "member");
        for (std::uint64_t m = 0; m < n_members; ++m) {
            detail::source_key mk;
            mk.address = r.address();
            mk.tag = r.u8();
            const source_type* s = sources.find(mk);
            if (s == nullptr || !s->member || s->fingerprint != key.value || s->submethod != g->submethod)
                r.fail("group member without its member entry");
            g->members.push_back(mk);
        }
        if (detail::any_repeated(g->members)) r.fail("group member listed twice");
        members_listed += g->members.size();
        g->last_seen = r.time_until(newest);
        g->dirty = r.boolean();
        dirty_groups += g->dirty ? 1 : 0;
        g->active = r.boolean();
        g->start_pending = r.boolean();
        g->changed = r.boolean();
        g->event_id = r.u64();
        g->last_emitted = r.time();
        g->sources = r.u32();
        g->hosts = r.u32();
        g->users = r.u32();
        g->targets = r.u32();
        if (!g->active && (g->start_pending || g->changed)) r.fail("inactive group with pending events");
        if (g->active && (g->event_id == 0 || g->event_id >= head.next_event_id)) r.fail("event id out of range");
        if (g->active && !g->start_pending && g->last_emitted > newest) r.fail("event after the newest poll");
        active_groups += g->active ? 1 : 0;
    }
    if (members_listed != members_flagged) r.fail("member entries missing from their groups");

    group_list active{typename group_list::allocator_type(alloc_)};
    const std::uint64_t n_active = r.count(n_groups, 8, "active campaign");
    for (std::uint64_t n = 0; n < n_active; ++n) {
        const detail::fingerprint_key key{r.u64()};
        const group_type* g = groups.find(key);
        if (g == nullptr || !g->active) r.fail("active campaign without an active group");
        active.push_back(key);
    }
    if (detail::any_repeated_fingerprint(active)) r.fail("active campaign listed twice");
    group_list dirty{typename group_list::allocator_type(alloc_)};
    const std::uint64_t n_dirty = r.count(n_groups, 8, "group to recount");
    for (std::uint64_t n = 0; n < n_dirty; ++n) {
        const detail::fingerprint_key key{r.u64()};
        const group_type* g = groups.find(key);
        if (g == nullptr || !g->dirty) r.fail("group to recount without its flag");
        dirty.push_back(key);
    }
    if (detail::any_repeated_fingerprint(dirty)) r.fail("group to recount listed twice");
    if (dirty.size() != dirty_groups) r.fail("groups to recount missing from their list");
    if (active.size() != active_groups) r.fail("active groups missing from the active list");
    r.finish();
    sources_ = std::move(sources);
    groups_ = std::move(groups);
    active_ = std::move(active);
    dirty_ = std::move(dirty);
    return this->commit_head(std::move(head));
}

SIPDETECT_NAMESPACE_END
