#include "kube/json_reader.h"

#include <fmt/format.h>

#include "egressd/common/one_line.h"

namespace egressd::kube {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

const char* type_name(element_type t) {
  switch (t) {
    case element_type::ARRAY: return "an array";
    case element_type::OBJECT: return "an object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: return "a number";
    case element_type::STRING: return "a string";
    case element_type::BOOL: return "a boolean";
    case element_type::NULL_VALUE: return "null";
  }
  return "an unknown value";
}

// Untrusted text in a one-line message: control characters escaped, shortened.
std::string escape(std::string_view s) {
  return escape_one_line(s, 64);
}

// "status.podIPs[1].ip"; keys with dots or slashes (labels) in brackets: labels["a.b/c"].
std::string render(const JsonPath& at, std::string_view key) {
  std::string out(at.parent);
  if (at.index >= 0) out += fmt::format("[{}]", at.index);
  if (key.empty()) return out;  // the object itself: "items[3]: expected an object"
  if (key.find_first_of("./") != std::string_view::npos) return out + "[" + quote(key) + "]";
  if (!out.empty()) out += '.';
  return out + std::string(key);
}

}  // namespace

std::string quote(std::string_view s) {
  return quote_one_line(s, 64);
}

std::optional<element> JsonReader::lookup(simdjson::dom::object parent, std::string_view key) {
  element e;
  if (parent.at_key(key).get(e) != simdjson::SUCCESS || e.is_null()) return std::nullopt;
  return e;
}

std::optional<simdjson::dom::object> JsonReader::as_object(element e, const JsonPath& at) {
  simdjson::dom::object o;
  if (e.get(o) == simdjson::SUCCESS) return o;
  type_error(at, {}, "an object", e);
  return std::nullopt;
}

std::optional<simdjson::dom::object> JsonReader::get_object(simdjson::dom::object parent,
                                                            std::string_view key,
                                                            const JsonPath& at) {
  const auto e = lookup(parent, key);
  if (!e) return std::nullopt;
  simdjson::dom::object o;
  if (e->get(o) == simdjson::SUCCESS) return o;
  type_error(at, key, "an object", *e);
  return std::nullopt;
}

std::optional<simdjson::dom::array> JsonReader::get_array(simdjson::dom::object parent,
                                                          std::string_view key,
                                                          const JsonPath& at) {
  const auto e = lookup(parent, key);
  if (!e) return std::nullopt;
  simdjson::dom::array a;
  if (e->get(a) == simdjson::SUCCESS) return a;
  type_error(at, key, "an array", *e);
  return std::nullopt;
}

std::optional<std::string_view> JsonReader::get_string(simdjson::dom::object parent,
                                                       std::string_view key, const JsonPath& at) {
  const auto e = lookup(parent, key);
  if (!e) return std::nullopt;
  std::string_view s;
  if (e->get(s) == simdjson::SUCCESS) return s;
  type_error(at, key, "a string", *e);
  return std::nullopt;
}

std::optional<bool> JsonReader::get_bool(simdjson::dom::object parent, std::string_view key,
                                         const JsonPath& at) {
  const auto e = lookup(parent, key);
  if (!e) return std::nullopt;
  bool b = false;
  if (e->get(b) == simdjson::SUCCESS) return b;
  type_error(at, key, "a boolean", *e);
  return std::nullopt;
}

std::optional<IpAddr> JsonReader::parse_ip(std::string_view text, const JsonPath& at,
                                           std::string_view key) {
  if (auto ip = IpAddr::parse(text)) return ip;
  record(at, key, "invalid IP address " + quote(text));
  return std::nullopt;
}

void JsonReader::missing(const JsonPath& at, std::string_view key) {
  record(at, key, "missing");
}

void JsonReader::type_error(const JsonPath& at, std::string_view key, std::string_view expected,
                            element got) {
  record(at, key, fmt::format("expected {}, got {}", expected, type_name(got.type())));
}

void JsonReader::record(const JsonPath& at, std::string_view key, const std::string& problem) {
  if (error_) return;
  std::string object;
  if (!kind_.empty() && !name_.empty()) {
    object = namespace_.empty()
                 ? fmt::format(" ({} {})", kind_, escape(name_))
                 : fmt::format(" ({} {}/{})", kind_, escape(namespace_), escape(name_));
  } else if (!kind_.empty()) {
    object = fmt::format(" ({})", kind_);
  }
  const std::string field = render(at, key);
  error_.emplace(Errc::kParse, field.empty()
                                   ? fmt::format("{}{}: {}", where_, object, problem)
                                   : fmt::format("{}{}: {}: {}", where_, object, field, problem));
}

Error JsonReader::take_error() {
  if (!error_) return Error(Errc::kInternal, "JsonReader::take_error without an error");
  Error e = std::move(*error_);
  error_.reset();
  return e;
}

}  // namespace egressd::kube
