// LISTEN (RFC 9293 3.10.7.2): a SYN makes a TCB in SYN-RECEIVED and draws a SYN-ACK; and the
// option negotiation that every handshake (passive or active) ends with.
#include <algorithm>

#include "tcp/tcp_layer.hpp"

namespace pollux::tcp {

using base::Counter;
using net::tcp_flags::ack;
using net::tcp_flags::syn;

// RFC 9293 3.7.1 (MSS), RFC 7323 1.3/2.2 (window scale, timestamps), RFC 2018 (SACK): an
// option is in use only if both sides sent it in their SYNs. We offer every option the
// configuration enables, so what the peer's SYN carries decides.
void TcpLayer::negotiate(Tcb& t, const net::TcpOptions& opts) {
  const uint16_t peer_mss = opts.has_mss ? opts.mss : 536;
  t.snd_mss = std::clamp<uint16_t>(std::min(peer_mss, mss_for_mtu()), 88, mss_for_mtu());
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

void TcpLayer::input_listen(Listener& l, base::UniqueMbuf m, const net::Ipv4Header& ip,
                            const net::TcpHeader& seg, const net::TcpOptions& opts, uint64_t now) {
  // A SYN's data (rare) is not kept: the peer sends it again. Freed before the SYN-ACK is
  // allocated.
  m.reset();
  const net::FourTuple key{ip.dst, ip.src, seg.dst_port, seg.src_port};
  // RFC 4987 3.6: with the SYN-RECEIVED queue full (or cookies always on), answer without
  // keeping state; the connection is made when the ACK returns the cookie.
  if (config_.syn_cookies == SynCookieMode::always ||
      (l.pending >= l.backlog && config_.syn_cookies == SynCookieMode::automatic))
    return send_cookie_syn_ack(l, key, seg, opts, now);
  if (l.pending >= l.backlog) return counters_.inc(Counter::drop_tcp_backlog_full);
  Tcb* t = alloc_tcb();
  if (!t) return counters_.inc(Counter::drop_tcp_table_full);
  init_passive(*t, l, key, seg.seq, now);
  negotiate(*t, opts);
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
  init_tcb(t, key, l.opts, now);
  t.irs = irs;
  t.rcv_nxt = irs + 1;
  // Nothing advertised yet: the right edge starts at RCV.NXT (3.8.6). Left at 0 it would
  // compare as before or after RCV.NXT depending on the peer's ISN, and the window we offer
  // could exceed the buffer by up to 2^31.
  t.rcv_adv = t.last_ack_sent = t.rcv_nxt;
}

bool TcpLayer::file_syn_received(Tcb& t, Listener& l) {
  t.passive = true;
  t.listener = &l;
  t.events = l.events;
  t.ctx = l.ctx;
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
  if (config_.max_conns_per_source != 0) (void)per_source_.increment(t.tuple.remote_ip.value);
  return true;
}

// The cookie SYN-ACK is the SYN-ACK input_listen() would send, built from a scratch TCB that
// is never filed: ISS = the cookie; MSS the table's (syn_cookie.hpp); window scale and
// SACK-permitted offered only when timestamps can carry them back (RFC 4987 3.6: without
// them the connection does without), the TSval's low bits holding them.
void TcpLayer::send_cookie_syn_ack(Listener& l, const net::FourTuple& key,
                                   const net::TcpHeader& seg, const net::TcpOptions& opts,
                                   uint64_t now) {
  Tcb& t = *cookie_scratch_;
  init_passive(t, l, key, seg.seq, now);
  negotiate(t, opts);
  CookieOptions carried;
  carried.mss = opts.has_mss ? opts.mss : 536;
  if (t.ts_ok) {
    if (t.ws_ok) carried.wscale = t.snd_wscale;
    carried.sack_permitted = t.sack_ok;
    // tsval(t, now) = now in ms + ts_offset: move the offset so that it yields the encoding.
    const uint32_t now_ms = static_cast<uint32_t>(now / 1'000'000);
    t.ts_offset = SynCookies::encode_ts(now_ms + t.ts_offset, carried) - now_ms;
  } else {
    t.ws_ok = false;
    t.sack_ok = false;
    t.snd_wscale = t.rcv_wscale = 0;
  }
  t.iss = cookies_.make(key, seg.seq, carried.mss, now);
  t.snd_una = t.snd_nxt = t.snd_max = t.iss;
  t.snd_wnd = t.max_snd_wnd = seg.window;
  l.last_cookie_ns = now;
  if (send_segment(t, t.iss, syn | ack, 0, 0, now)) counters_.inc(Counter::syn_cookies_sent);
  cancel_timers(t);  // send_segment arms the retransmission timer: a cookie is never resent
}

// RFC 4987 3.6: a bare ACK to a listener that has been sending cookies. A valid cookie rebuilds
// the SYN-RECEIVED TCB the SYN would have made (the options as the cookie carried them), and
// the ACK then completes the handshake through the normal path (input_synchronized.cpp).
base::UniqueMbuf TcpLayer::accept_cookie(Listener& l, base::UniqueMbuf m, const net::Ipv4Header& ip,
                                         const net::TcpHeader& seg, const net::TcpOptions& opts,
                                         uint64_t now) {
  if (config_.syn_cookies == SynCookieMode::never) return m;
  if (config_.syn_cookies == SynCookieMode::automatic &&
      (l.last_cookie_ns == 0 || now - l.last_cookie_ns > 2 * SynCookies::kPeriodNs))
    return m;
  // A cookie's ACK is the passive open's second half: the SYN filter sees it too (a valid
  // cookie from a refused source means the rules changed or the cookie was guessed).
  if (!passive_open_allowed(ip, seg)) return {};  // taken: `m` is freed here
  const net::FourTuple key{ip.dst, ip.src, seg.dst_port, seg.src_port};
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
  // The window our SYN-ACK offered (RFC 7323 2.2: never scaled in a SYN), as send_segment()
  // recorded it for the cookie's scratch TCB: the peer may already be sending into it.
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
  negotiate(*t, syn_opts);
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
  input_synchronized(*t, std::move(m), seg, opts, now);
  return {};
}

}  // namespace pollux::tcp
