// sipdetect: proxy_detector member definitions (included by proxy_detector.hpp).
#pragma once

#include <sipdetect/detail/state_io.hpp>
#include <sipdetect/proxy_detector.hpp>

#include <algorithm>
#include <array>
#include <optional>
#include <istream>
#include <ostream>
#include <string>

SIPDETECT_NAMESPACE_BEGIN

namespace detail {

template <class T> using proxy_field = config_field<proxy_config, T>;
// Every field of proxy_config but the seed, with what it accepts. Order is the state format.
inline const auto proxy_config_fields = std::make_tuple(
    proxy_field<std::uint32_t>{"min_uris", &proxy_config::min_uris, 2, max_distinct_limit},
    proxy_field<std::uint32_t>{"max_distinct", &proxy_config::max_distinct, 2, max_distinct_limit, 3},
    proxy_field<record_duration>{"closed_season", &proxy_config::closed_season, record_duration::zero(), unbounded_duration},
    proxy_field<record_duration>{"time_to_death", &proxy_config::time_to_death, at_least_1us, unbounded_duration},
    proxy_field<prefix_set>{"filter", &proxy_config::filter},
    proxy_field<proxy_filter_mode>{"filter_mode", &proxy_config::filter_mode, proxy_filter_mode::exclude_devices,
                                   proxy_filter_mode::exclude_internal},
    proxy_field<double>{"min_success_share", &proxy_config::min_success_share, 0.0, 1.0},
    proxy_field<record_duration>{"answer_grace", &proxy_config::answer_grace, record_duration::zero(), unbounded_duration},
    proxy_field<record_duration>{"candidate_idle_timeout", &proxy_config::candidate_idle_timeout, at_least_1us,
                                 unbounded_duration},
    proxy_field<std::uint64_t>{"max_candidates", &proxy_config::max_candidates, 1, max_table_entries},
    proxy_field<std::uint64_t>{"max_proxies", &proxy_config::max_proxies, 1, max_table_entries},
    proxy_field<std::uint32_t>{"uri_samples", &proxy_config::uri_samples, 0, max_evidence_limit},
    proxy_field<std::uint32_t>{"peer_samples", &proxy_config::peer_samples, 0, max_evidence_limit},
    proxy_field<std::uint32_t>{"max_user_agents", &proxy_config::max_user_agents, 0, max_user_agents_limit},
    proxy_field<record_duration>{"max_lateness", &proxy_config::max_lateness, record_duration::zero(), unbounded_duration},
    proxy_field<record_duration>{"max_clock_skew", &proxy_config::max_clock_skew, record_duration::zero(),
                                 unbounded_duration});

// The fingerprint of a request's From URI as a sender. Scanners often build
// From from their target: svmap -6 sends From sip:100@[target], svwar and
// many scripts copy the called user into From. Such a URI names the target,
// not a party the requester sends for, so the mirrored part is left out:
// a scanner counts as one From URI however many targets it probes, while a
// proxy that relays for many users to the registrar named in their URIs
// still counts each user. A REGISTER's From user is its To user by design
// (a user registers itself), so users are compared outside REGISTER only.
inline std::uint32_t sender_key(const record_view& v, std::uint64_t seed) noexcept {
    const std::string_view host = uri_host(v.from_uri);
    // Only the destination's address, not the Request-URI's host: a user's
    // From host is its domain, which the Request-URI also names whenever
    // the callee is in the same domain; the same user would then count twice.
    const std::optional<ip_address> from_address = ip_address::try_parse(host);
    const bool host_mirrored = from_address && *from_address == v.server;
    const std::string_view user = uri_user(v.from_uri);
    const bool registering = v.is_counters ? v.counters.register_requests > 0 : v.method == sip_method::register_;
    const bool user_mirrored = !registering && !user.empty() && user == called_user(v);
    if (!host_mirrored && !user_mirrored) return fingerprint_set::key_of(hash_bytes(v.from_uri, seed));
    // Seeded apart from whole URIs: the parts kept never collide with a URI by construction.
    constexpr std::uint64_t mirrored_salt = 0x6d6972726f726564; // "mirrored"
    const std::uint64_t kept_user = hash_bytes(user_mirrored ? std::string_view() : user, seed ^ mirrored_salt);
    return fingerprint_set::key_of(hash_bytes(host_mirrored ? std::string_view() : host, kept_user));
}

} // namespace detail

inline void proxy_config::validate() const {
    detail::check_fields(*this, detail::proxy_config_fields, "proxy_config");
    if (min_uris > max_distinct)
        throw config_error("proxy_config.min_uris " + std::to_string(min_uris) + " exceeds max_distinct " +
                           std::to_string(max_distinct) + ": counts stop growing before it could be reached");
}

template <class Record, detector_clock Clock, class Allocator>
proxy_detector<Record, Clock, Allocator>::proxy_detector(proxy_config config, Clock clock, const Allocator& allocator)
    : base(std::move(config), std::move(clock), allocator),
      candidates_(detail::source_key_hasher{hash_seed_}, typename candidate_table::allocator_type(alloc_)),
      proxies_(detail::source_key_hasher{hash_seed_}, typename proxy_table::allocator_type(alloc_)),
      awaiting_(typename verdict_list::allocator_type(alloc_)),
      due_now_(typename verdict_list::allocator_type(alloc_)) {}

template <class Record, detector_clock Clock, class Allocator>
record_time proxy_detector<Record, Clock, Allocator>::season_end() const noexcept {
    if (first_record_ == record_time::max()) return record_time::max();
    if (first_record_ > record_time::max() - config_.closed_season) return record_time::max();
    return first_record_ + config_.closed_season;
}

template <class Record, detector_clock Clock, class Allocator>
record_time proxy_detector<Record, Clock, Allocator>::due_time(record_time crossed_at) const noexcept {
    return crossed_at > record_time::max() - config_.answer_grace ? record_time::max() : crossed_at + config_.answer_grace;
}

template <class Record, detector_clock Clock, class Allocator>
bool proxy_detector<Record, Clock, Allocator>::filtered(const record_view& v) noexcept {
    if (config_.filter.empty()) return false;
    const bool out = config_.filter_mode == proxy_filter_mode::exclude_devices
                         ? config_.filter.contains(v.client)
                         : config_.filter.contains(v.client) && config_.filter.contains(v.server);
    if (out) ++stats_.filtered;
    return out;
}

template <class Record, detector_clock Clock, class Allocator>
void proxy_detector<Record, Clock, Allocator>::feed_view(const record_view& v, const lookup_type& k) {
    if (!this->admit_record(v)) return;
    if (first_record_ == record_time::max()) first_record_ = v.time;
    if (v.is_counters) {
        const sip_counters& c = v.counters;
        if (c.success_responses || c.failure_responses) responses_seen_ = true;
        const std::uint64_t requests = std::uint64_t{c.register_requests} + c.options_requests + c.invite_requests +
                                       c.other_requests;
        if (!filtered(v) && requests > 0) on_request(v, k, requests, c.success_responses);
    } else if (v.is_response()) {
        if (v.status < 100 || v.status > 699) {
            ++stats_.malformed_dropped;
            return;
        }
        responses_seen_ = true;
        if (v.status >= 200 && v.status < 300 && !filtered(v)) on_success(k, 1);
    } else if (v.method != sip_method::unknown) {
        if (!filtered(v)) on_request(v, k, v.method == sip_method::ack ? 0 : 1, 0);
    } else {
        ++stats_.malformed_dropped;
        return;
    }
    if (verdict_due(time_.watermark)) decide_due(time_.watermark, false);
}

template <class Record, detector_clock Clock, class Allocator>
bool proxy_detector<Record, Clock, Allocator>::still_learned(const detail::hashed_key& k, record_time t) {
    detail::learned_proxy* p = proxies_.find(k.key, k.hash);
    if (p == nullptr) return false;
    if (t - p->last_seen > config_.time_to_death) {
        proxies_.erase(k.key);
        ++stats_.proxies_expired;
        return false;
    }
    p->last_seen = std::max(p->last_seen, t);
    return true;
}

template <class Record, detector_clock Clock, class Allocator>
auto proxy_detector<Record, Clock, Allocator>::admit_at_cap(const detail::hashed_key& k) -> candidate_type* {
    const detail::source_key& key = k.key;
    if (candidate_type* c = candidates_.find(key, k.hash, k.position_hint)) return c;
    {
        // Victim: fewest URIs, then longest silent. A crossed candidate
        // awaiting its verdict is kept; the newcomer is refused instead.
        auto worse = [](const candidate_type& a, const candidate_type& b) {
            if (a.crossed != b.crossed) return !a.crossed;
            if (a.uris() != b.uris()) return a.uris() < b.uris();
            return a.last_seen < b.last_seen;
        };
        const auto victim = candidates_.sample_victim(key, 8, worse);
        const candidate_type* vc = victim ? candidates_.find(*victim) : nullptr;
        if (vc == nullptr || vc->crossed) {
            ++stats_.candidates_rejected;
            return nullptr;
        }
        candidates_.erase(*victim);
        ++stats_.candidates_evicted;
    }
    return candidates_.try_emplace(key, k.hash).first;
}

template <class Record, detector_clock Clock, class Allocator>
void proxy_detector<Record, Clock, Allocator>::on_request(const record_view& v, const detail::hashed_key& k,
                                               std::uint64_t requests, std::uint64_t successes) {
    // An address is a candidate or a learned proxy, never both: a candidate
    // found at its prefetched position spares the lookup among the proxies.
    candidate_type* c = candidates_.find_at_hint(k.key, k.position_hint);
    if (c == nullptr) {
        if (still_learned(k, v.time)) return;
        c = admit(k);
        if (c == nullptr) return;
    }
    if (c->requests == 0 && c->uris() == 0) {
        c->first_seen = v.time;
        c->last_seen = v.time;
    }
    c->first_seen = std::min(c->first_seen, v.time);
    c->last_seen = std::max(c->last_seen, v.time);
    c->requests += requests;
    c->successes += successes;
    const auto via = static_cast<std::uint8_t>(std::min<unsigned>(v.via_count, 0xff));
    if (via != 0) {
        c->min_via = c->min_via == 0 ? via : std::min(c->min_via, via);
        c->max_via = std::max(c->max_via, via);
    }
    add_uri(*c, v);
    if (!c->crossed) {
        if (c->uris() >= config_.min_uris) { // min_uris >= 2: the candidate has its heavy part
            // First: if it cannot allocate, the candidate has not crossed.
            await_verdict(awaited_verdict{due_time(v.time), next_rank_++, k.key});
            c->crossed = true;
            c->heavy->crossed_at = v.time;
        }
    }
}

template <class Record, detector_clock Clock, class Allocator>
void proxy_detector<Record, Clock, Allocator>::on_success(const detail::hashed_key& k, std::uint64_t successes) {
    if (candidate_type* c = candidates_.find(k.key, k.hash, k.position_hint)) c->successes += successes;
}

template <class Record, detector_clock Clock, class Allocator>
void proxy_detector<Record, Clock, Allocator>::add_uri(candidate_type& c, const record_view& v) {
    const std::uint32_t key = detail::sender_key(v, hash_seed_);
    if (!c.heavy) {
        if (c.uri_key == key) return;
        if (c.uri_key == 0) {
            c.uri_key = key;
            return;
        }
        // Past what a phone sends for: keep evidence from here on.
        auto h = detail::allocate_unique<heavy_type>(alloc_, alloc_);
        if (c.uri_key != 0) h->uris.insert(c.uri_key, config_.max_distinct);
        c.uri_key = 0;
        c.heavy = std::move(h);
    }
    heavy_type& h = *c.heavy;
    if (h.uris.insert(key, config_.max_distinct) == detail::fingerprint_set::insert_result::added &&
        h.uri_sample.size() < config_.uri_samples)
        h.uri_sample.emplace_back(detail::head(v.from_uri, detail::uri_sample_cap),
                                  typename detail::allocated_string<Allocator>::allocator_type(alloc_));
    if (h.peers.size() < config_.peer_samples && std::find(h.peers.begin(), h.peers.end(), v.server) == h.peers.end())
        h.peers.push_back(v.server);
    if (!v.user_agent.empty() && h.user_agents.size() < config_.max_user_agents) {
        const std::string_view ua = detail::head(v.user_agent, user_agent_cap);
        if (std::find(h.user_agents.begin(), h.user_agents.end(), ua) == h.user_agents.end())
            h.user_agents.emplace_back(ua, typename detail::allocated_string<Allocator>::allocator_type(alloc_));
    }
}

template <class Record, detector_clock Clock, class Allocator>
void proxy_detector<Record, Clock, Allocator>::await_verdict(const awaited_verdict& verdict) {
    awaiting_.push_back(verdict);
    std::push_heap(awaiting_.begin(), awaiting_.end(), due_later);
}

template <class Record, detector_clock Clock, class Allocator>
void proxy_detector<Record, Clock, Allocator>::decide_due(record_time now, bool everything) {
    // This runs on the feed() path and must not allocate in steady state:
    // due_now_ keeps its capacity, and a verdict put back into awaiting_
    // reuses the room it left there. If a verdict fails to allocate, it and
    // those not yet visited go back to wait, in their order.
    due_now_.reserve(awaiting_.capacity());
    while (everything ? !awaiting_.empty() : verdict_due(now)) {
        std::pop_heap(awaiting_.begin(), awaiting_.end(), due_later);
        due_now_.push_back(awaiting_.back());
        awaiting_.pop_back();
    }
    std::sort(due_now_.begin(), due_now_.end(), crossed_earlier);
    std::size_t i = 0;
    struct put_back {
        proxy_detector& detector;
        std::size_t& next;
        ~put_back() {
            for (std::size_t j = next; j < detector.due_now_.size(); ++j) detector.await_verdict(detector.due_now_[j]);
            detector.due_now_.clear();
        }
    } finish{*this, i};
    for (; i < due_now_.size(); ++i) {
        awaited_verdict& w = due_now_[i];
        candidate_type* c = candidates_.find(w.key);
        if (c == nullptr || !c->crossed) continue;
        if (!decide(w.key, *c, std::min(std::max(now, c->heavy->crossed_at), w.due))) {
            // Judged again later (a scanner-like candidate), keeping its rank.
            w.due = due_time(c->heavy->crossed_at);
            await_verdict(w);
        }
    }
}

template <class Record, detector_clock Clock, class Allocator>
bool proxy_detector<Record, Clock, Allocator>::decide(const detail::source_key& key, candidate_type& c,
                                           record_time at) {
    if (holds_as_scanner_ != nullptr && holds_as_scanner_(scanners_, key.address)) {
        // Its URIs come from its probing. Forgotten rather than judged again
        // later, so that nothing is left to learn once its scan has ended.
        if (!c.judged_scanner_like) ++stats_.judged_scanner_like;
        candidates_.erase(key);
        return true;
    }
    if (responses_seen_ &&
        static_cast<double>(c.successes) < config_.min_success_share * static_cast<double>(c.requests)) {
        // Mostly failing or unanswered: a scanner rotating From users. Look
        // again one grace period later, in case the answers were only slow.
        if (!c.judged_scanner_like) ++stats_.judged_scanner_like;
        c.judged_scanner_like = true;
        c.heavy->crossed_at = at;
        return false;
    }
    learn(key, c, at);
    return true;
}

template <class Record, detector_clock Clock, class Allocator>
void proxy_detector<Record, Clock, Allocator>::learn(const detail::source_key& key, candidate_type& c,
                                          record_time at) {
    // Everything that allocates comes first (the event, room for it and for
    // the learned proxy); then the verdict is committed without allocating,
    // so a failed allocation leaves the candidate waiting, and its event is
    // made once.
    const bool in_training = c.heavy->crossed_at < season_end();
    const bool evict = proxies_.size() >= config_.max_proxies;
    if (!evict) proxies_.reserve(proxies_.size() + 1);
    std::optional<proxy_event> event;
    if (!in_training) {
        detail::make_room_for_one(pending_);
        proxy_event& e = event.emplace();
        e.id = next_event_id_;
        e.source = key.address;
        e.uris = c.uris();
        e.counts_saturated = c.heavy && c.heavy->uris.saturated();
        e.first_seen = c.first_seen;
        e.detected_at = at;
        e.last_seen = c.last_seen;
        e.min_via = c.min_via;
        e.max_via = c.max_via;
        e.requests = c.requests;
        e.successes = c.successes;
        e.answers_judged = responses_seen_;
        if (c.heavy) {
            for (const auto& u : c.heavy->uri_sample) e.uri_sample.emplace_back(u.data(), u.size());
            e.peers.assign(c.heavy->peers.begin(), c.heavy->peers.end());
            for (const auto& ua : c.heavy->user_agents) e.user_agents.emplace_back(ua.data(), ua.size());
        }
    }
    if (event) {
        ++next_event_id_;
        pending_.push_back(std::move(*event));
        ++stats_.new_proxy_events;
    } else {
        ++stats_.learned_in_training;
    }
    if (evict) {
        auto older = [](const detail::learned_proxy& a, const detail::learned_proxy& b) {
            return a.last_seen < b.last_seen;
        };
        if (const auto victim = proxies_.sample_victim(key, 8, older)) {
            proxies_.erase(*victim);
            ++stats_.proxies_evicted;
        }
    }
    detail::learned_proxy& p = *proxies_.try_emplace(key).first;
    p.first_seen = c.first_seen;
    p.last_seen = c.last_seen;
    p.learned_at = at;
    p.in_training = in_training;
    candidates_.erase(key);
}

template <class Record, detector_clock Clock, class Allocator>
std::vector<known_proxy> proxy_detector<Record, Clock, Allocator>::learned_proxies() const {
    std::vector<known_proxy> out;
    out.reserve(proxies_.size());
    proxies_.for_each([&](const detail::learned_proxy& p) {
        out.push_back(known_proxy{p.address, p.first_seen, p.last_seen, p.learned_at, p.in_training});
    });
    std::sort(out.begin(), out.end(),
              [](const known_proxy& a, const known_proxy& b) { return a.address < b.address; });
    return out;
}

template <class Record, detector_clock Clock, class Allocator>
std::vector<proxy_event> proxy_detector<Record, Clock, Allocator>::poll() {
    const record_time now = this->poll_now();
    decide_due(now, false);
    sweep(now);
    std::vector<proxy_event> out;
    out.swap(pending_);
    return out;
}

template <class Record, detector_clock Clock, class Allocator>
std::vector<proxy_event> proxy_detector<Record, Clock, Allocator>::flush() {
    const record_time now = this->poll_now();
    decide_due(now, true);
    // Scanner-like candidates re-queued by decide() are left for later traffic.
    std::vector<proxy_event> out;
    out.swap(pending_);
    return out;
}

template <class Record, detector_clock Clock, class Allocator>
void proxy_detector<Record, Clock, Allocator>::sweep(record_time now) noexcept {
    if (!this->sweep_due(now, std::min(config_.candidate_idle_timeout, config_.time_to_death) / 10)) return;
    stats_.candidates_expired += candidates_.erase_if([&](const candidate_type& c) {
        return !c.crossed && now - c.last_seen > config_.candidate_idle_timeout;
    });
    stats_.proxies_expired += proxies_.erase_if([&](const detail::learned_proxy& p) {
        return now - p.last_seen > config_.time_to_death;
    });
    candidates_.shrink_index();
    proxies_.shrink_index();
}

template <class Record, detector_clock Clock, class Allocator>
proxy_stats proxy_detector<Record, Clock, Allocator>::stats() const {
    proxy_stats s = stats_;
    s.candidates = candidates_.size();
    s.proxies = proxies_.size();
    std::size_t bytes = candidates_.memory_bytes() + proxies_.memory_bytes() +
                        ((awaiting_.capacity() + due_now_.capacity()) * sizeof(awaited_verdict));
    candidates_.for_each([&](const candidate_type& c) {
        if (!c.heavy) return;
        bytes += sizeof(heavy_type) + c.heavy->uris.memory_bytes() +
                 c.heavy->peers.capacity() * sizeof(ip_address) +
                 (c.heavy->uri_sample.capacity() + c.heavy->user_agents.capacity()) * sizeof(c.heavy->uri_sample[0]);
        for (const auto& u : c.heavy->uri_sample) bytes += u.capacity() > 15 ? u.capacity() + 1 : 0;
        for (const auto& u : c.heavy->user_agents) bytes += u.capacity() > 15 ? u.capacity() + 1 : 0;
    });
    s.memory_bytes = bytes;
    return s;
}

// ---------------------------------------------------------------------------
// Persistent state. Field order is the format; README "State files" lists it.

namespace detail {

inline constexpr std::array<std::uint64_t proxy_stats::*, 13> saved_proxy_counters{
    &proxy_stats::records,            &proxy_stats::filtered,           &proxy_stats::malformed_dropped,
    &proxy_stats::late_dropped,       &proxy_stats::future_dropped,
    &proxy_stats::learned_in_training, &proxy_stats::new_proxy_events,  &proxy_stats::judged_scanner_like,
    &proxy_stats::candidates_evicted, &proxy_stats::candidates_rejected, &proxy_stats::candidates_expired,
    &proxy_stats::proxies_evicted,    &proxy_stats::proxies_expired};

// Smallest saved sizes, against which counts are checked before anything is read.
inline constexpr std::size_t min_saved_candidate = 16 + 8 + 8 + 8 + 8 + 4 + 1 + 1 + 1 + 1 + 1;
inline constexpr std::size_t min_saved_proxy = 16 + 8 + 8 + 8 + 1;
inline constexpr std::size_t min_saved_proxy_event = 8 + 16 + 4 + 8 + 8 + 8 + 8 + 8 + 4 + 4 + 8 + 8 + 8 + 1;

template <> struct config_schema<proxy_config> {
    static constexpr state_kind kind = state_kind::proxy;
    static const auto& fields() noexcept { return proxy_config_fields; }
    static const auto& counters() noexcept { return saved_proxy_counters; }
};

} // namespace detail

template <class Record, detector_clock Clock, class Allocator>
void proxy_detector<Record, Clock, Allocator>::save(std::ostream& out) const {
    this->save_state(out, [&](auto& w) {
        w.u64(candidates_.size());
        candidates_.for_each([&](const candidate_type& c) {
            w.address(c.address);
            w.time(c.first_seen);
            w.time(c.last_seen);
            w.u64(c.requests);
            w.u64(c.successes);
            w.u32(c.uri_key);
            w.boolean(c.crossed);
            w.boolean(c.judged_scanner_like);
            w.u8(c.min_via);
            w.u8(c.max_via);
            w.boolean(c.heavy != nullptr);
            if (!c.heavy) return;
            w.time(c.heavy->crossed_at);
            detail::write_set(w, c.heavy->uris);
            detail::write_strings(w, c.heavy->uri_sample);
            detail::write_addresses(w, c.heavy->peers);
            detail::write_strings(w, c.heavy->user_agents);
        });
        w.u64(proxies_.size());
        proxies_.for_each([&](const detail::learned_proxy& p) {
            w.address(p.address);
            w.time(p.first_seen);
            w.time(p.last_seen);
            w.time(p.learned_at);
            w.boolean(p.in_training);
        });
        // In the order the candidates crossed, which a loaded detector keeps.
        verdict_list awaiting = awaiting_;
        std::sort(awaiting.begin(), awaiting.end(), crossed_earlier);
        w.u64(awaiting.size());
        for (const awaited_verdict& a : awaiting) w.address(a.key.address);
        w.u64(pending_.size());
        for (const proxy_event& e : pending_) {
            w.u64(e.id);
            w.address(e.source);
            w.u32(e.uris);
            detail::write_strings(w, e.uri_sample);
            w.time(e.first_seen);
            w.time(e.detected_at);
            w.time(e.last_seen);
            detail::write_addresses(w, e.peers);
            w.u32(e.min_via);
            w.u32(e.max_via);
            detail::write_strings(w, e.user_agents);
            w.u64(e.requests);
            w.u64(e.successes);
            w.boolean(e.answers_judged);
        }
    }, [&](auto& w) { w.time(first_record_); }, [&](auto& w) { w.boolean(responses_seen_); });
}

// Reads format versions 3 and 2. Version 2 also saved each table's bucket
// count and each entry's bucket: they are skipped, as the entries are
// inserted again in storage order.
template <class Record, detector_clock Clock, class Allocator>
load_report proxy_detector<Record, Clock, Allocator>::load(std::istream& in) {
    detail::state_reader r(in, detail::state_kind::proxy);
    const bool v2 = r.version() == 2;
    record_time first_record{};
    bool responses_seen = false;
    auto head = this->read_head(
        r, [&](detail::state_reader& head_reader) { first_record = head_reader.time_or(record_time::max()); },
        [&](detail::state_reader& head_reader) { responses_seen = head_reader.boolean(); });
    const record_time newest = head.newest;
    const std::uint64_t next_event_id = head.next_event_id;
    if (first_record != record_time::max() && first_record > head.time.watermark) r.fail("first record after the newest");

    candidate_table candidates(detail::source_key_hasher{head.hash_seed}, typename candidate_table::allocator_type(alloc_));
    if (v2) (void)r.u64(); // bucket count
    const std::uint64_t n_candidates =
        r.count(config_.max_candidates, detail::min_saved_candidate + (v2 ? 8 : 0), "candidate");
    for (std::uint64_t n = 0; n < n_candidates; ++n) {
        if (v2) (void)r.u64(); // bucket
        const auto [c, added] = candidates.try_emplace(detail::source_key{r.address(), 0});
        if (!added) r.fail("candidate listed twice");
        c->first_seen = r.time_until(newest);
        c->last_seen = r.time_until(newest);
        c->requests = r.u64();
        c->successes = r.u64();
        c->uri_key = r.u32();
        if (c->uri_key > detail::fingerprint_set::key_mask) r.fail("bad URI fingerprint");
        c->crossed = r.boolean();
        c->judged_scanner_like = r.boolean();
        c->min_via = r.u8();
        c->max_via = r.u8();
        if (c->first_seen > c->last_seen || c->min_via > c->max_via) r.fail("inconsistent candidate");
        if (!r.boolean()) {
            if (c->crossed) r.fail("crossed candidate without its evidence");
            continue;
        }
        if (c->uri_key != 0) r.fail("inline URI beside the URI set");
        auto h = detail::allocate_unique<heavy_type>(alloc_, alloc_);
        h->crossed_at = r.time(); // the 1970 default until min_uris is reached
        if (c->crossed && h->crossed_at > newest) r.fail("verdict due after the newest record or poll");
        detail::read_set(r, h->uris, config_.max_distinct, "URIs");
        detail::read_strings(r, h->uri_sample, detail::max_evidence_limit, detail::uri_sample_cap, "URI sample");
        detail::read_addresses(r, h->peers, detail::max_evidence_limit, "peer");
        detail::read_strings(r, h->user_agents, detail::max_user_agents_limit, user_agent_cap, "user agent");
        if (h->uri_sample.size() > config_.uri_samples) h->uri_sample.resize(config_.uri_samples);
        if (h->peers.size() > config_.peer_samples) h->peers.resize(config_.peer_samples);
        if (h->user_agents.size() > config_.max_user_agents) h->user_agents.resize(config_.max_user_agents);
        c->heavy = std::move(h);
    }

    proxy_table proxies(detail::source_key_hasher{head.hash_seed}, typename proxy_table::allocator_type(alloc_));
    if (v2) (void)r.u64(); // bucket count
    const std::uint64_t n_proxies = r.count(config_.max_proxies, detail::min_saved_proxy + (v2 ? 8 : 0), "proxy");
    for (std::uint64_t n = 0; n < n_proxies; ++n) {
        if (v2) (void)r.u64(); // bucket
        const detail::source_key key{r.address(), 0};
        const auto [p, added] = proxies.try_emplace(key);
        if (!added) r.fail("proxy listed twice");
        p->first_seen = r.time_until(newest);
        p->last_seen = r.time_until(newest);
        p->learned_at = r.time_until(newest);
        p->in_training = r.boolean();
        if (candidates.find(key) != nullptr) r.fail("address is both a candidate and a proxy");
    }

    std::vector<detail::source_key, detail::rebound_allocator<Allocator, detail::source_key>> crossed{
        detail::rebound_allocator<Allocator, detail::source_key>(alloc_)};
    const std::uint64_t n_crossed = r.count(n_candidates, 16, "pending verdict");
    for (std::uint64_t n = 0; n < n_crossed; ++n) {
        const detail::source_key key{r.address(), 0};
        const candidate_type* c = candidates.find(key);
        if (c == nullptr || !c->crossed) r.fail("pending verdict for an unknown candidate");
        crossed.push_back(key);
    }
    // Every crossed candidate awaits its verdict exactly once: one left out would never be decided or expire.
    if (detail::any_repeated(crossed)) r.fail("pending verdict listed twice");
    std::size_t crossed_candidates = 0;
    candidates.for_each([&](const candidate_type& c) { crossed_candidates += c.crossed ? 1 : 0; });
    if (crossed_candidates != crossed.size()) r.fail("crossed candidates missing from the pending verdicts");
    std::vector<proxy_event> pending;
    const std::uint64_t n_pending = r.count(detail::max_pending_events, detail::min_saved_proxy_event, "pending event");
    for (std::uint64_t n = 0; n < n_pending; ++n) {
        proxy_event& e = pending.emplace_back();
        e.id = r.u64();
        if (e.id == 0 || e.id >= next_event_id) r.fail("event id out of range");
        e.source = r.address();
        e.uris = r.u32();
        detail::read_strings(r, e.uri_sample, detail::max_evidence_limit, detail::uri_sample_cap, "URI sample");
        e.first_seen = r.time();
        e.detected_at = r.time();
        e.last_seen = r.time();
        detail::read_addresses(r, e.peers, detail::max_evidence_limit, "peer");
        e.min_via = r.u32();
        e.max_via = r.u32();
        detail::read_strings(r, e.user_agents, detail::max_user_agents_limit, user_agent_cap, "user agent");
        e.requests = r.u64();
        e.successes = r.u64();
        e.answers_judged = r.boolean();
    }
    r.finish();

    verdict_list awaiting{typename verdict_list::allocator_type(alloc_)};
    awaiting.reserve(crossed.size());
    for (const detail::source_key& key : crossed)
        awaiting.push_back(awaited_verdict{due_time(candidates.find(key)->heavy->crossed_at), awaiting.size(), key});
    std::make_heap(awaiting.begin(), awaiting.end(), due_later);
    candidates_ = std::move(candidates);
    proxies_ = std::move(proxies);
    awaiting_ = std::move(awaiting);
    due_now_.clear();
    next_rank_ = awaiting_.size();
    pending_ = std::move(pending);
    first_record_ = first_record;
    responses_seen_ = responses_seen;
    return this->commit_head(std::move(head));
}

SIPDETECT_NAMESPACE_END
