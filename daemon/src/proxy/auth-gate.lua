-- Sign-in gate of pve-external-domains for HAProxy 2.6 and later (Lua 5.3, core.httpclient).
--
-- Registers the action `lua.pve_auth_gate <auth-server-url>` for `http-request` rules. It queries the
-- sign-in server (an oauth2-proxy-style service) whether the request is signed in, by sending only
-- the request's Cookie and Authorization headers to `<auth-server-url>/oauth2/auth`, never its body.
-- The outcome goes into the variable txn.pve_auth, which the rules after the action act on:
--
--   ok           signed in; the identity headers are set on the request
--   signin       not signed in; txn.pve_signin holds the sign-in URL with the original URL in `rd`
--   forbidden    signed in but not allowed (the server returned 403)
--   unavailable  the server did not answer, or answered with anything else
--
-- The daemon strips client-sent identity headers before this action runs, and validates the URL
-- argument before writing it into haproxy.cfg.

local CACHE_TTL_SECONDS = 30
local CACHE_MAX_ENTRIES = 10000
local REQUEST_TIMEOUT_MS = 5000
local MAX_IDENTITY_LENGTH = 4096
local FAILURE_LOG_INTERVAL_SECONDS = 10

-- Response headers of the sign-in server and the request headers each one is copied to.
local IDENTITY_HEADERS = {
  { source = "x-auth-request-user", targets = { "X-Auth-Request-User", "X-Forwarded-User" } },
  { source = "x-auth-request-email", targets = { "X-Auth-Request-Email", "X-Forwarded-Email" } },
  { source = "x-auth-request-groups", targets = { "X-Auth-Request-Groups", "X-Forwarded-Groups" } },
  { source = "x-auth-request-preferred-username", targets = { "X-Auth-Request-Preferred-Username", "X-Forwarded-Preferred-Username" } },
}

-- Positive responses by credential hash. One Lua state serves every thread when the script is
-- loaded with lua-load, so this table is shared.
local cache = {}
local cache_size = 0
local last_failure_log = {}

local function now_seconds()
  return core.now().sec
end

local function cache_get(key)
  local entry = cache[key]
  if entry == nil then return nil end
  if entry.expires <= now_seconds() then
    cache[key] = nil
    cache_size = cache_size - 1
    return nil
  end
  return entry.identity
end

local function cache_put(key, identity)
  if cache[key] == nil and cache_size >= CACHE_MAX_ENTRIES then
    local now = now_seconds()
    for stored_key, entry in pairs(cache) do
      if entry.expires <= now then
        cache[stored_key] = nil
        cache_size = cache_size - 1
      end
    end
    -- Still full of live entries: start over rather than grow without bound.
    if cache_size >= CACHE_MAX_ENTRIES then
      cache = {}
      cache_size = 0
    end
  end
  if cache[key] == nil then cache_size = cache_size + 1 end
  cache[key] = { expires = now_seconds() + CACHE_TTL_SECONDS, identity = identity }
end

-- Returns every value of a request header joined with `separator`, or nil when absent.
local function request_header(txn, name, separator)
  local values = txn.http:req_get_headers()[name]
  if values == nil then return nil end
  local parts = {}
  local index = 0
  while values[index] ~= nil do
    parts[#parts + 1] = values[index]
    index = index + 1
  end
  if #parts == 0 then return nil end
  return table.concat(parts, separator)
end

-- Accepts a header value of printable bytes (UTF-8 included) without control characters.
local function safe_value(value)
  if type(value) ~= "string" or #value == 0 or #value > MAX_IDENTITY_LENGTH then return false end
  return value:find("[%c\127]") == nil
end

local function identity_of(response_headers)
  local identity = {}
  for _, header in ipairs(IDENTITY_HEADERS) do
    local values = response_headers[header.source]
    local value = values and values[0]
    if safe_value(value) then identity[header.source] = value end
  end
  return identity
end

local function apply_identity(txn, identity)
  for _, header in ipairs(IDENTITY_HEADERS) do
    local value = identity[header.source]
    if value ~= nil then
      for _, target in ipairs(header.targets) do txn.http:req_set_header(target, value) end
    end
  end
end

local function url_encode(text)
  return (text:gsub("[^A-Za-z0-9._~-]", function(character)
    return string.format("%%%02X", string.byte(character))
  end))
end

-- The URL the client asked for, used as the `rd` parameter of the sign-in page.
local function original_url(txn)
  -- ssl_fc returns a boolean or an integer depending on the version; 0 is true in Lua.
  local tls = tostring(txn.f:ssl_fc())
  local scheme = (tls == "true" or tls == "1") and "https" or "http"
  local host = txn.f:req_hdr("host") or ""
  -- The route was chosen by this host; anything outside host name and port characters is dropped.
  if host == "" or host:find("[^A-Za-z0-9.:%[%]-]") then host = txn:get_var("txn.host") or "" end
  local pathq = txn.f:pathq() or "/"
  return scheme .. "://" .. host .. pathq
end

local function log_failure(txn, server, detail)
  local now = now_seconds()
  if (last_failure_log[server] or 0) + FAILURE_LOG_INTERVAL_SECONDS > now then return end
  last_failure_log[server] = now
  txn:Warning("pve-domains sign-in gate: request to " .. server .. "/oauth2/auth failed: " .. detail)
end

local function ask_server(server, cookie, authorization)
  local headers = {}
  if cookie ~= nil then headers["cookie"] = { cookie } end
  if authorization ~= nil then headers["authorization"] = { authorization } end
  local client = core.httpclient()
  return pcall(function()
    return client:get({ url = server .. "/oauth2/auth", headers = headers, timeout = REQUEST_TIMEOUT_MS })
  end)
end

local function gate(txn, server)
  local cookie = request_header(txn, "cookie", "; ")
  local authorization = request_header(txn, "authorization", ", ")

  local function sign_in()
    txn:set_var("txn.pve_signin", "/oauth2/start?rd=" .. url_encode(original_url(txn)))
    txn:set_var("txn.pve_auth", "signin")
  end

  -- Without any credential the request cannot be signed in; the server is not asked.
  if cookie == nil and authorization == nil then return sign_in() end

  local key = txn.c:hex(txn.c:sha2(server .. "\0" .. (cookie or "") .. "\0" .. (authorization or ""), 256))
  local cached = cache_get(key)
  if cached ~= nil then
    apply_identity(txn, cached)
    txn:set_var("txn.pve_auth", "ok")
    return
  end

  local ok, response = ask_server(server, cookie, authorization)
  if not ok or type(response) ~= "table" then
    log_failure(txn, server, tostring(response))
    txn:set_var("txn.pve_auth", "unavailable")
    return
  end

  local status = tonumber(response.status) or 0
  if status == 200 or status == 202 then
    local identity = identity_of(response.headers or {})
    cache_put(key, identity)
    apply_identity(txn, identity)
    txn:set_var("txn.pve_auth", "ok")
  elseif status == 401 then
    sign_in()
  elseif status == 403 then
    txn:set_var("txn.pve_auth", "forbidden")
  else
    log_failure(txn, server, "status " .. tostring(status))
    txn:set_var("txn.pve_auth", "unavailable")
  end
end

core.register_action("pve_auth_gate", { "http-req" }, gate, 1)
