// pollux::Stack (pollux/stack.hpp): the application's calls, forwarded to this lcore's TCP.
#include "pollux/stack.hpp"

#include "engine/engine.hpp"

namespace pollux {

TcpError Stack::listen(uint16_t port, const AppEvents* events, void* ctx, uint32_t backlog,
                       const ConnOptions& opts) {
  return engine_->tcp().listen(port, events, ctx, backlog, opts);
}
void Stack::unlisten(uint16_t port) {
  engine_->tcp().unlisten(port);
}
Conn* Stack::connect(Ipv4Addr local, Ipv4Addr remote, uint16_t remote_port, const AppEvents* events,
                     void* ctx, uint16_t local_port, const ConnOptions& opts, TcpError& error,
                     uint64_t now_ns) {
  return engine_->tcp().connect(local, remote, remote_port, events, ctx, local_port, opts, error,
                                now_ns);
}
Conn* Stack::connect(const Ipv6Addr& local, const Ipv6Addr& remote, uint16_t remote_port,
                     const AppEvents* events, void* ctx, uint16_t local_port,
                     const ConnOptions& opts, TcpError& error, uint64_t now_ns) {
  return engine_->tcp().connect(local, remote, remote_port, events, ctx, local_port, opts, error,
                                now_ns);
}
uint32_t Stack::max_connections() const {
  return engine_->tcp().config().max_connections;
}
Ipv4Addr Stack::source_address(Ipv4Addr dst) const {
  return engine_->source_address(dst);
}

size_t Stack::send(Conn* c, std::span<const uint8_t> data) {
  return engine_->tcp().send(c, data);
}
uint32_t Stack::send_space(const Conn* c) const {
  return engine_->tcp().send_space(c);
}
void Stack::want_writable(Conn* c, uint32_t bytes) {
  engine_->tcp().want_writable(c, bytes);
}
uint32_t Stack::readable_bytes(const Conn* c) const {
  return engine_->tcp().readable_bytes(c);
}
size_t Stack::peek(const Conn* c, ByteSpan* spans, size_t max) const {
  return engine_->tcp().peek(c, spans, max);
}
size_t Stack::read(Conn* c, uint8_t* out, size_t len) {
  return engine_->tcp().read(c, out, len);
}
void Stack::consume(Conn* c, uint32_t n) {
  engine_->tcp().consume(c, n);
}
void Stack::shutdown_write(Conn* c) {
  engine_->tcp().shutdown_write(c);
}
void Stack::close(Conn* c) {
  engine_->tcp().close(c);
}
void Stack::abort(Conn* c) {
  engine_->tcp().abort(c);
}
bool Stack::set_nodelay(Conn* c, bool on) {
  return engine_->tcp().set_nodelay(c, on);
}
bool Stack::set_keepalive(Conn* c, bool on, uint64_t idle_ns, uint64_t interval_ns,
                          uint8_t probes) {
  return engine_->tcp().set_keepalive(c, on, idle_ns, interval_ns, probes);
}
bool Stack::set_buffers(Conn* c, uint32_t sndbuf, uint32_t rcvbuf) {
  return engine_->tcp().set_buffers(c, sndbuf, rcvbuf);
}
ConnInfo Stack::info(const Conn* c) const {
  return engine_->tcp().info(c);
}

ConnCounts Stack::counts(const Conn* c) const {
  return engine_->tcp().counts(c);
}

Endpoint Stack::local(const Conn* c) {
  const auto& t = tcp::TcpLayer::tuple(c);
  return {t.local_ip.v4(), t.local_port};
}
Endpoint Stack::remote(const Conn* c) {
  const auto& t = tcp::TcpLayer::tuple(c);
  return {t.remote_ip.v4(), t.remote_port};
}
void Stack::set_user(Conn* c, void* p) {
  tcp::TcpLayer::set_user(c, p);
}
void* Stack::user(const Conn* c) {
  return tcp::TcpLayer::user(c);
}

void Stack::for_each_connection(void (*fn)(void* ctx, const Conn* c), void* ctx) {
  engine_->tcp().for_each_connection([&](const Conn* c) { fn(ctx, c); });
}

}  // namespace pollux
