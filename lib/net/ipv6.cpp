#include "net/ipv6.hpp"

#include <algorithm>
#include <cstring>

namespace pollux::net {

namespace {

// The TLV options of a hop-by-hop or destination-options header (RFC 8200 4.2), `opts` being
// the header less its first two bytes. Pad1 and PadN are skipped; an unknown option is
// skipped only when its type's top two bits say so (00), otherwise the packet is discarded.
Ipv6Error walk_options(Bytes opts, bool hop_by_hop, bool& router_alert) {
  size_t i = 0;
  while (i < opts.size()) {
    const uint8_t type = opts[i];
    if (type == 0) {  // Pad1
      ++i;
      continue;
    }
    if (i + 2 > opts.size() || i + 2 + opts[i + 1] > opts.size())
      return Ipv6Error::bad_extension_header;
    const uint8_t len = opts[i + 1];
    if (type == 1) {
      // PadN
    } else if (hop_by_hop && type == 5 && len == 2) {
      router_alert = true;  // RFC 2711
    } else if ((type >> 6) != 0) {
      return Ipv6Error::unknown_option;
    }
    i += 2 + len;
  }
  return Ipv6Error::ok;
}

}  // namespace

Ipv6Error parse_ipv6(Bytes packet, Ipv6Header& out, size_t available) {
  if (available == 0 || available < packet.size()) available = packet.size();
  if (packet.size() < kIpv6HeaderLen) return Ipv6Error::truncated;
  const uint8_t* p = packet.data();
  if ((p[0] >> 4) != 6) return Ipv6Error::bad_version;
  out.traffic_class = static_cast<uint8_t>((p[0] & 0x0f) << 4 | p[1] >> 4);
  out.flow_label = (static_cast<uint32_t>(p[1] & 0x0f) << 16) | load_be16(p + 2);
  out.payload_len = load_be16(p + 4);
  out.next_header = p[6];
  out.hop_limit = p[7];
  std::memcpy(out.src.bytes.data(), p + 8, 16);
  std::memcpy(out.dst.bytes.data(), p + 24, 16);
  // A jumbogram (payload length 0 with a hop-by-hop Jumbo Payload option, RFC 2675) never
  // fits an Ethernet frame; a zero length is an empty payload.
  if (kIpv6HeaderLen + out.payload_len > available) return Ipv6Error::bad_payload_length;
  Bytes rest = packet.subspan(kIpv6HeaderLen,
                              std::min<size_t>(out.payload_len, packet.size() - kIpv6HeaderLen));
  uint8_t next = out.next_header;
  out.extension_headers = 0;
  out.router_alert = false;
  for (;;) {
    if (next != kIpv6HopByHop && next != kIpv6Routing && next != kIpv6Fragment &&
        next != kIpv6DestOptions)
      break;
    if (out.extension_headers == kIpv6MaxExtensionHeaders) return Ipv6Error::too_many_extensions;
    // Hop-by-hop only right after the fixed header (RFC 8200 4.1).
    if (next == kIpv6HopByHop && out.extension_headers != 0) return Ipv6Error::bad_extension_header;
    ++out.extension_headers;
    if (next == kIpv6Fragment) {
      if (rest.size() < 8) return Ipv6Error::bad_extension_header;
      return Ipv6Error::fragment;
    }
    if (rest.size() < 8) return Ipv6Error::bad_extension_header;
    const size_t len = 8 * (static_cast<size_t>(rest[1]) + 1);
    if (len > rest.size()) return Ipv6Error::bad_extension_header;
    if (next == kIpv6Routing) {
      const uint8_t routing_type = rest[2], segments_left = rest[3];
      if (routing_type == 0) return Ipv6Error::routing_type0;
      // pollux forwards nothing: a routing header with segments left names us as a hop of
      // a source route we do not implement (RFC 8200 4.4 says answer with a Parameter
      // Problem; dropping and counting is enough for a host stack).
      if (segments_left != 0) return Ipv6Error::bad_routing_header;
    } else if (Ipv6Error e =
                   walk_options(rest.subspan(2, len - 2), next == kIpv6HopByHop, out.router_alert);
               e != Ipv6Error::ok) {
      return e;
    }
    next = rest[0];
    rest = rest.subspan(len);
  }
  out.upper_protocol = next;
  out.upper = next == kIpv6NoNextHeader ? Bytes{} : rest;
  return Ipv6Error::ok;
}

size_t write_ipv6_header(uint8_t* out, const Ipv6Build& b) {
  out[0] = static_cast<uint8_t>(0x60 | b.traffic_class >> 4);
  out[1] = static_cast<uint8_t>((b.traffic_class & 0x0f) << 4 | ((b.flow_label >> 16) & 0x0f));
  store_be16(out + 2, static_cast<uint16_t>(b.flow_label));
  store_be16(out + 4, b.payload_len);
  out[6] = b.next_header;
  out[7] = b.hop_limit;
  std::memcpy(out + 8, b.src.bytes.data(), 16);
  std::memcpy(out + 24, b.dst.bytes.data(), 16);
  return kIpv6HeaderLen;
}

const char* ipv6_error_name(Ipv6Error e) {
  switch (e) {
    case Ipv6Error::ok:
      return "ok";
    case Ipv6Error::truncated:
      return "truncated";
    case Ipv6Error::bad_version:
      return "bad_version";
    case Ipv6Error::bad_payload_length:
      return "bad_payload_length";
    case Ipv6Error::bad_extension_header:
      return "bad_extension_header";
    case Ipv6Error::too_many_extensions:
      return "too_many_extensions";
    case Ipv6Error::routing_type0:
      return "routing_type0";
    case Ipv6Error::bad_routing_header:
      return "bad_routing_header";
    case Ipv6Error::unknown_option:
      return "unknown_option";
    case Ipv6Error::fragment:
      return "fragment";
  }
  return "?";
}

}  // namespace pollux::net
