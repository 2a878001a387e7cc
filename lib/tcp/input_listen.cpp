// LISTEN (RFC 9293 3.10.7.2): a SYN makes a TCB in SYN-RECEIVED and draws a SYN-ACK; and the
// option negotiation that every handshake (passive or active) ends with.
#include <algorithm>
#include <cassert>

#include "tcp/syn_ack.hpp"
#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using base::Counter;
using net::tcp_flags::ack;
using net::tcp_flags::syn;

// RFC 9293 3.7.1 (MSS), RFC 7323 1.3/2.2 (window scale, timestamps), RFC 2018 (SACK): an
// option is in use only if both sides sent it in their SYNs. We offer every option the
// configuration enables, so what the peer's SYN carries decides.
// The MSS we send with is the peer's, at most what our path to it takes (the link's MTU, or
// the path MTU learnt for the peer's address: RFC 8201 5.2, RFC 9293 3.7.1's "MMS_S").
void TcpLayer::negotiate(Tcb& t, const net::TcpOptions& opts, uint64_t now) {
  const uint16_t peer_mss = opts.has_mss ? opts.mss : 536;
  const uint16_t path = path_mss(t.tuple(), now);
  t.snd_mss = std::clamp<uint16_t>(std::min(peer_mss, path), 88, path);
  t.ws_ok = config_.window_scaling && opts.has_wscale;
  if (t.ws_ok) {
    t.snd_wscale = std::min(opts.wscale, net::kMaxWindowScale);
  } else {
    t.snd_wscale = 0;
    t.rcv_wscale = 0;
  }
  t.sack_ok = config_.sack && opts.sack_permitted;
  t.ts_ok = config_.timestamps && opts.has_timestamps;
  if (t.ts_ok) t.ts_recent = opts.ts_val;
  // RFC 8985 needs to know which segments were delivered, so SACK: without it loss stays
  // with RFC 6582 NewReno and the RTO.
  t.rack_on = config_.rack && t.sack_ok;
  t.tlp_on = config_.tlp && t.sack_ok;
  // The scoreboard's DupThresh rule (off with RACK) is set when a cold block is lent.
  if (t.cold) t.cold->scoreboard.set_dupthresh_rule(!t.rack_on);
}

void TcpLayer::input_listen(Listener& l, base::UniqueMbuf m, const net::FourTuple& key,
                            const net::TcpHeader& seg, const net::TcpOptions& opts, uint64_t now) {
  // RFC 4987 3.6: with the SYN-RECEIVED queue full (or cookies always on), answer without
  // keeping state; the connection is made when the ACK returns the cookie.
  if (config_.syn_cookies == SynCookieMode::always ||
      (l.pending >= l.backlog && config_.syn_cookies == SynCookieMode::automatic))
    return send_cookie_syn_ack(l, std::move(m), key, seg, opts, now);
  // A SYN's data (rare) is not kept: the peer sends it again. Its buffer carries the
  // SYN-ACK (keep_spare), or is freed before the SYN-ACK is allocated.
  keep_spare(m);
  if (l.pending >= l.backlog) return counters_.inc(Counter::drop_tcp_backlog_full);
  Tcb* t = alloc_tcb();
  if (!t) return counters_.inc(Counter::drop_tcp_table_full);
  init_passive(*t, l, key, seg.seq, now);
  negotiate(*t, opts, now);
  // RFC 7323 2.2: the window field of a SYN is never scaled.
  t->snd_wnd = seg.window;
  t->max_snd_wnd = seg.window;
  t->snd_wl1 = seg.seq;
  t->snd_wl2 = t->iss;
  if (!file_syn_received(*t, l)) return;
  send_segment(*t, t->iss, syn | ack, 0, 0, now);
  arm_rexmt(*t, now);
}

void TcpLayer::init_passive(Tcb& t, const Listener& l, const net::FourTuple& key, Seq irs,
                            uint64_t now) {
  option_sets_.hold(l.opts_id);  // the listener's set: shared, never a new one
  init_tcb(t, key, l.opts_id, now);
  t.irs = irs;
  t.rcv_nxt = irs + 1;
  // Nothing advertised yet: the right edge starts at RCV.NXT (3.8.6). Left at 0 it would
  // compare as before or after RCV.NXT depending on the peer's ISN, and the window we offer
  // could exceed the buffer by up to 2^31.
  t.rcv_adv = t.last_ack_sent = t.rcv_nxt;
}

bool TcpLayer::file_syn_received(Tcb& t, Listener& l) {
  t.passive = true;
  assert(&l >= listeners_.data() && &l < listeners_.data() + listeners_.size());
  t.listener_slot = static_cast<uint16_t>(&l - listeners_.data());
  app_bindings_.hold(l.app);  // the listener's pair: shared, never a new one
  t.app = l.app;
  ++l.pending;
  set_state(t, State::syn_received, StateCause::passive_open);
  if (table_.insert(t) != base::InsertResult::inserted) {
    --l.pending;
    t.passive = false;  // not counted against its source yet
    release_tcb(t);
    counters_.inc(Counter::drop_tcp_table_full);
    return false;
  }
  counters_.inc(Counter::tcp_passive_opens);
  // Counted until the TCB goes back to the pool (release_tcb); the table has room for a
  // key per TCB, so this never fails.
  if (config_.max_conns_per_source != 0)
    (void)per_source_.increment(net::source_key(t.tuple().remote_ip));
  return true;
}

// The cookie SYN-ACK is the SYN-ACK input_listen() would send, written straight from the SYN
// (syn_ack.hpp): a flood of spoofed SYNs costs no TCB set-up per segment. ISS = the cookie;
// MSS the table's (syn_cookie.hpp); window scale and SACK-permitted offered only when
// timestamps can carry them back (RFC 4987 3.6: without them the connection does without),
// the TSval's low bits holding them. Every field is what a fresh TCB of this listener would
// send after init_passive() and negotiate(); tests/fixture/syn_cookie_test.cpp pins the bytes.
//
// The SYN-ACK goes out in the SYN's own buffer when that is a plain one of our pool (one
// segment, direct, referenced only here), reset first: a flood then costs no free and
// allocation per SYN. Everything read from the SYN (`seg`, which points into it; `key` and
// `opts` are copies) is read into `a` before the buffer is rewritten.
void TcpLayer::send_cookie_syn_ack(Listener& l, base::UniqueMbuf syn, const net::FourTuple& key,
                                   const net::TcpHeader& seg, const net::TcpOptions& opts,
                                   uint64_t now) {
  l.last_cookie_ns = now;
  if (!out_has_room()) return;
  const uint32_t rcvbuf = clamp_rcvbuf(l.opts.rcvbuf);
  CookieOptions carried;
  carried.mss = opts.has_mss ? opts.mss : 536;
  SynAck a;
  a.tuple = key;
  a.ack = seg.seq + 1;
  // RFC 7323 2.2: a SYN's window is never scaled. An empty connection offers its whole
  // buffer (rcv_window()); accept_cookie() records the same right edge.
  a.window = static_cast<uint16_t>(std::min<uint32_t>(rcvbuf, 0xffff));
  a.options.has_mss = true;
  a.options.mss = mss_for_mtu(key);
  if (config_.timestamps && opts.has_timestamps) {
    // RFC 7323: echo the peer's TSval; ours is the clock the connection would use (ms plus
    // the per-tuple offset init_tcb() gives it, RFC 7323 5.4), its low bits the options.
    if (config_.window_scaling && opts.has_wscale) {
      carried.wscale = std::min(opts.wscale, net::kMaxWindowScale);
      a.options.has_wscale = true;
      a.options.wscale = window_shift_for(rcvbuf, config_.window_scaling);
    }
    carried.sack_permitted = config_.sack && opts.sack_permitted;
    a.options.sack_permitted = carried.sack_permitted;
    a.options.has_timestamps = true;
    const auto now_ms = static_cast<uint32_t>(now / 1'000'000);
    a.options.ts_val = SynCookies::encode_ts(now_ms + isn_.hash_component(key), carried);
    a.options.ts_ecr = opts.ts_val;
  }
  a.seq = cookies_.make(key, seg.seq, carried.mss, now);
  rte_mbuf* m = syn.release();
  if (m->pool == pool_ && base::is_sole_plain_segment(m)) {
    rte_pktmbuf_reset(m);
  } else {
    rte_pktmbuf_free(m);
    m = rte_pktmbuf_alloc(pool_);
  }
  if (!m || !write_syn_ack(m, a, ip_id_)) {
    rte_pktmbuf_free(m);
    return counters_.inc(Counter::drop_tcp_no_mbuf);
  }
  ++ip_id_;
  out_[out_count_++] = m;
  counters_.inc(Counter::tcp_segs_out);
  counters_.inc(Counter::syn_cookies_sent);
}

// RFC 4987 3.6: a bare ACK to a listener that has been sending cookies. A valid cookie rebuilds
// the SYN-RECEIVED TCB the SYN would have made (the options as the cookie carried them), and
// the ACK then completes the handshake through the normal path (input_synchronized.cpp).
base::UniqueMbuf TcpLayer::accept_cookie(Listener& l, base::UniqueMbuf m, const net::FourTuple& key,
                                         const net::TcpHeader& seg, const net::TcpOptions& opts,
                                         uint64_t now) {
  if (config_.syn_cookies == SynCookieMode::never) return m;
  if (config_.syn_cookies == SynCookieMode::automatic &&
      (l.last_cookie_ns == 0 || now - l.last_cookie_ns > 2 * SynCookies::kPeriodNs))
    return m;
  // A cookie's ACK is the passive open's second half: the SYN filter sees it too (a valid
  // cookie from a refused source means the rules changed or the cookie was guessed).
  if (!passive_open_allowed(key)) return {};  // taken: `m` is freed here
  const std::optional<uint16_t> mss = cookies_.check(key, seg.seq - 1, seg.ack - 1, now);
  if (!mss) {
    counters_.inc(Counter::syn_cookies_rejected);
    return m;  // answered as LISTEN answers an ACK: <SEQ=SEG.ACK><CTL=RST>
  }
  Tcb* t = alloc_tcb();
  if (!t) {
    counters_.inc(Counter::drop_tcp_table_full);
    return {};
  }
  init_passive(*t, l, key, seg.seq - 1, now);
  // The window our SYN-ACK offered (RFC 7323 2.2: never scaled in a SYN), as
  // send_cookie_syn_ack() computed it: the peer may already be sending into it.
  t->rcv_adv = t->rcv_nxt + std::min<uint32_t>(rcv_window(*t), 0xffff);
  net::TcpOptions syn_opts;  // what the SYN offered, as far as the cookie remembers
  syn_opts.has_mss = true;
  syn_opts.mss = *mss;
  if (opts.has_timestamps) {
    CookieOptions carried;
    SynCookies::decode_ts(opts.ts_ecr, carried);
    syn_opts.has_timestamps = true;
    syn_opts.ts_val = opts.ts_val;
    syn_opts.has_wscale = carried.wscale.has_value();
    syn_opts.wscale = carried.wscale.value_or(0);
    syn_opts.sack_permitted = carried.sack_permitted;
  }
  negotiate(*t, syn_opts, now);
  t->iss = seg.ack - 1;
  t->snd_una = t->iss;
  t->snd_nxt = t->snd_max = seg.ack;  // our SYN was sent (by the cookie SYN-ACK)
  t->recover = t->rxt_high = t->iss;
  if (ColdBlock* c = t->rack_on ? take_cold(*t) : nullptr) {
    c->sent_log.reset(t->iss);  // as if the SYN-ACK had been sent by this TCB, just now
    c->sent_log.on_send(t->iss, seg.ack, static_cast<uint32_t>(now / 1000));
  }
  t->snd_wl1 = seg.seq;
  t->snd_wl2 = t->iss;
  if (!file_syn_received(*t, l)) return {};
  counters_.inc(Counter::syn_cookies_accepted);
  counters_.inc(Counter::tcp_segs_in);
  input_synchronized(*t, m, seg, opts, now);
  keep_spare(m);
  return {};
}

}  // namespace pollux::tcp
