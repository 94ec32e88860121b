// config::parse(): collects raw values from the YAML file, the environment and the command line,
// applies them in that order (so a later source overrides an earlier one: flag > env > file >
// default), then checks the rules that involve more than one setting or the file system.
#include "config/config.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>
#include <sys/stat.h>

#include "config/settings.h"
#include "egressd/common/file_input.h"

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX declares it nowhere

namespace egressd::config {
namespace {

using detail::Origin;
using detail::RawValue;

struct FlagScan {
  Command command = Command::kRun;
  bool command_given = false;
  std::vector<RawValue> values;
};

Status unknown_flag(std::string_view name) {
  const auto hint = detail::suggest(name);
  return fail(Errc::kInvalidArgument,
              fmt::format("unknown flag --{}: {}", name,
                          hint ? fmt::format("did you mean --{}?", *hint)
                               : std::string("egressd --help lists every flag")));
}

bool names_a_flag(std::string_view arg) {
  if (!arg.starts_with('-') || arg.size() < 2) return false;
  arg.remove_prefix(arg.starts_with("--") ? 2 : 1);
  arg = arg.substr(0, arg.find('='));
  return arg == "h" || arg == "help" || arg == "version" || detail::find_setting(arg).has_value();
}

// Go flag syntax, which castai/egressd users already write: --name value, --name=value, one or
// two dashes, booleans as --name or --name=false. --help and --version win over everything else
// on the line, wherever they stand (before a `--`): `egressd --bogus --help` prints the help.
Result<FlagScan> scan_flags(const std::vector<std::string>& args) {
  FlagScan scan;
  for (const std::string& a : args) {
    if (a == "--") break;
    if (a == "-h" || a == "--h" || a == "-help" || a == "--help") {
      scan.command = Command::kHelp;
      return scan;
    }
    if (a == "-version" || a == "--version") {
      scan.command = Command::kVersion;
      return scan;
    }
  }
  const Origin origin{Origin::Kind::kFlag, {}, 0};
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (!flags_done && arg == "--") {
      flags_done = true;
      continue;
    }
    if (flags_done || !arg.starts_with('-') || arg == "-") {
      if (arg == "init" && !scan.command_given) {
        scan.command = Command::kInit;
        scan.command_given = true;
        continue;
      }
      return fail(
          Errc::kInvalidArgument,
          fmt::format("unexpected argument {}: the only command is \"init\"", detail::quote(arg)));
    }
    arg.remove_prefix(arg.starts_with("--") ? 2 : 1);
    const size_t eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq);
    if (name == "h" || name == "help") {
      scan.command = Command::kHelp;
      return scan;
    }
    if (name == "version") {
      scan.command = Command::kVersion;
      return scan;
    }
    const auto index = detail::find_setting(name);
    if (!index) return std::unexpected(unknown_flag(name).error());
    RawValue raw{*index, {}, std::nullopt, origin};
    if (eq != std::string_view::npos) {
      raw.text = arg.substr(eq + 1);
    } else if (detail::table()[*index].is_bool) {
      raw.text = "true";
    } else if (i + 1 < args.size() && !names_a_flag(args[i + 1])) {
      raw.text = args[++i];
    } else {
      return fail(Errc::kInvalidArgument, fmt::format("flag --{} needs a value", name));
    }
    scan.values.push_back(std::move(raw));
  }
  return scan;
}

// Empty variables count as unset: templated manifests often render an unset value as "".
// Unknown EGRESSD_* variables are ignored on purpose: a Service named "egressd" makes the kubelet
// inject EGRESSD_SERVICE_HOST, EGRESSD_PORT, ... into every pod of its namespace.
std::vector<RawValue> scan_env(const Environment& env) {
  std::vector<RawValue> out;
  const auto table = detail::table();
  for (size_t i = 0; i < table.size(); ++i) {
    std::string var(table[i].info.env);
    auto it = env.find(var);
    if ((it == env.end() || it->second.empty()) && table[i].info.name == "node-name") {
      var = "NODE_NAME";  // castai/egressd and the downward API convention
      it = env.find(var);
    }
    if (it == env.end() || it->second.empty()) continue;
    out.push_back(RawValue{i, it->second, std::nullopt, Origin{Origin::Kind::kEnv, var, 0}});
  }
  return out;
}

std::string invalid_value(const RawValue& raw, std::string_view problem) {
  return fmt::format("invalid value {} for --{} ({}): {}", raw.shown(),
                     detail::table()[raw.setting].info.name, raw.origin.describe(), problem);
}

// The inventory and the kubeconfig are read later by the agent; checking now turns a typo (or a
// FIFO, a directory, a huge file) into a start-up error instead of a failure, or a hang, after the
// sources are attached.
Status check_readable(const std::string& path, const RawValue& raw, uint64_t max_bytes) {
  // "invalid value ... (flag): not a regular file (a FIFO)"
  auto file = open_regular_file(path, max_bytes, "");
  if (!file) return fail(file.error().code(), invalid_value(raw, file.error().message()));
  return {};
}

// kubelet lower-cases the host name it registers the node under (pkg/util/node GetHostname).
std::string node_name_from_hostname(std::string_view hostname) {
  std::string out(hostname);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

Environment current_environment() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

Result<Invocation> parse(const std::vector<std::string>& args, const Environment& env,
                         const std::string& hostname) {
  auto flags = scan_flags(args);
  if (!flags) return std::unexpected(std::move(flags.error()));
  Invocation inv;
  inv.command = flags->command;
  if (inv.command == Command::kHelp || inv.command == Command::kVersion) return inv;

  std::vector<RawValue> env_values = scan_env(env);
  const size_t config_index = *detail::find_setting("config");

  // The config file named by the highest-precedence source (flag, then env).
  const RawValue* config_source = nullptr;
  for (const auto* list : {&env_values, &flags->values}) {
    for (const auto& raw : *list) {
      if (raw.setting == config_index) config_source = &raw;
    }
  }
  std::vector<RawValue> file_values;
  std::string config_path;
  if (config_source != nullptr && !config_source->text.empty()) {
    config_path = config_source->text;
    auto loaded = detail::load_file(config_path, config_source->origin);
    if (!loaded) return std::unexpected(std::move(loaded.error()));
    file_values = std::move(*loaded);
  }

  // Every value of every source is validated, even one a higher source overrides: a broken line
  // in the file is reported now rather than when the flag that hides it is removed.
  const auto table = detail::table();
  std::vector<const RawValue*> winner(table.size(), nullptr);
  for (const auto* list : {&file_values, &env_values, &flags->values}) {
    for (const auto& raw : *list) {
      auto applied = table[raw.setting].apply(inv.config, raw);
      if (!applied) {
        return fail(applied.error().code(), invalid_value(raw, applied.error().context()));
      }
      winner[raw.setting] = &raw;
    }
  }
  Config& cfg = inv.config;

  if (cfg.node_name.empty()) cfg.node_name = node_name_from_hostname(hostname);

  const auto shown = [&](std::string_view name) {
    const size_t i = *detail::find_setting(name);
    if (winner[i] != nullptr) return winner[i]->shown() + ", " + winner[i]->origin.describe();
    return detail::quote(table[i].info.default_text) + ", default";
  };
  if (cfg.metrics_series_ttl <= cfg.read_interval) {
    const RawValue* ttl = winner[*detail::find_setting("metrics-series-ttl")];
    const RawValue* interval = winner[*detail::find_setting("read-interval")];
    // Blame the setting the user chose; if both were chosen, the TTL (it depends on the other).
    if (ttl != nullptr || interval == nullptr) {
      const size_t ttl_index = *detail::find_setting("metrics-series-ttl");
      const RawValue fallback{
          ttl_index, std::string(table[ttl_index].info.default_text), std::nullopt, {}};
      return fail(Errc::kInvalidArgument,
                  invalid_value(ttl != nullptr ? *ttl : fallback,
                                fmt::format("must be longer than --read-interval ({})",
                                            shown("read-interval"))));
    }
    return fail(Errc::kInvalidArgument,
                invalid_value(*interval, fmt::format("must be shorter than --metrics-series-ttl "
                                                     "({})",
                                                     shown("metrics-series-ttl"))));
  }

  if (cfg.dns_min_ttl > cfg.dns_max_ttl) {
    const RawValue* min_raw = winner[*detail::find_setting("dns-min-ttl")];
    const RawValue* max_raw = winner[*detail::find_setting("dns-max-ttl")];
    if (min_raw != nullptr) {
      return fail(Errc::kInvalidArgument,
                  invalid_value(*min_raw, fmt::format("must not exceed --dns-max-ttl ({})",
                                                      shown("dns-max-ttl"))));
    }
    return fail(Errc::kInvalidArgument,
                invalid_value(*max_raw, fmt::format("must not be below --dns-min-ttl ({})",
                                                    shown("dns-min-ttl"))));
  }

  if (const RawValue* kc_raw = winner[*detail::find_setting("kubeconfig")];
      kc_raw != nullptr && !cfg.kubeconfig_path.empty()) {
    if (kc_raw->origin.kind == Origin::Kind::kFile &&
        std::filesystem::path(cfg.kubeconfig_path).is_relative()) {
      cfg.kubeconfig_path =
          (std::filesystem::path(config_path).parent_path() / cfg.kubeconfig_path).string();
    }
    if (auto ok = check_readable(cfg.kubeconfig_path, *kc_raw, kMaxKubeconfigBytes); !ok) {
      return std::unexpected(std::move(ok.error()));
    }
  }
  if (const RawValue* inv_raw = winner[*detail::find_setting("inventory")];
      inv_raw != nullptr && !cfg.inventory_path.empty()) {
    // A relative path in the config file is relative to that file, as in Prometheus's config.
    if (inv_raw->origin.kind == Origin::Kind::kFile &&
        std::filesystem::path(cfg.inventory_path).is_relative()) {
      cfg.inventory_path =
          (std::filesystem::path(config_path).parent_path() / cfg.inventory_path).string();
    }
    if (auto ok = check_readable(cfg.inventory_path, *inv_raw, kMaxInventoryBytes); !ok) {
      return std::unexpected(std::move(ok.error()));
    }
  }
  return inv;
}

std::string help_text() {
  std::string out =
      "Usage: egressd [init] [flags]\n"
      "\n"
      "egressd counts the bytes and packets each pod of this node exchanges with each peer\n"
      "and exports them, labelled with Kubernetes context, as Prometheus metrics.\n"
      "\n"
      "Commands:\n"
      "  (none)  run the agent\n"
      "  init    enable conntrack accounting (net.netfilter.nf_conntrack_acct=1) and exit\n"
      "\n"
      "Flags take --name value or --name=value; booleans also --name and --name=false.\n"
      "Precedence: flag > environment variable > config file (--config) > default.\n"
      "\n"
      "Flags:\n";
  // Go's flag.PrintDefaults layout: the flag on one line, its help indented below.
  for (const auto& s : detail::table()) {
    out += s.is_bool ? fmt::format("  --{}[={}]\n", s.info.name, s.info.value_name)
                     : fmt::format("  --{} {}\n", s.info.name, s.info.value_name);
    out += fmt::format("        {}\n", s.info.help);
    std::string extra = fmt::format("env {}", s.info.env);
    if (s.info.name == "node-name") extra += " or NODE_NAME";
    if (!s.info.default_text.empty()) extra += fmt::format(", default {}", s.info.default_text);
    out += fmt::format("        ({})\n", extra);
  }
  out += "  -h, --help\n        print this help and exit\n";
  out += "  --version\n        print the version and exit\n";
  return out;
}

}  // namespace egressd::config
