-- wrk -t1 -c N -s benchmarks/admin-adjustments-paced.lua URL: the adjustments of admin-adjustments.lua (+1 point,
-- a unique Idempotency-Key each) at a fixed rate, ADMIN_RATE requests per second (default 200), instead of as fast
-- as the server answers. wrk has no rate option: `delay()` (called before each request of a connection) gives every
-- request the next slot of one schedule, start + k / ADMIN_RATE, read from CLOCK_MONOTONIC through LuaJIT's ffi.
-- The connections share the schedule, so the rate holds while fewer than N requests are waiting; a request late
-- for its slot is sent at once (the schedule does not slow down to the server's pace). Use one wrk thread: each
-- thread keeps its own schedule.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long seconds; long nanoseconds; } paced_timespec;
int clock_gettime(int clock, paced_timespec *time);
]]
local clock = ffi.new("paced_timespec")
local function now_ms()
    ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
    return tonumber(clock.seconds) * 1000 + tonumber(clock.nanoseconds) / 1e6
end

local token = os.getenv("ADMIN_TOKEN")
local member = os.getenv("ADMIN_MEMBER")
local prefix = os.getenv("ADMIN_KEY_PREFIX") or tostring(os.time())
local interval_ms = 1000 / tonumber(os.getenv("ADMIN_RATE") or "200")
local counter = 0
local next_slot_ms = nil
local body = '{"asset":"points","amount":1,"reason":"goodwill"}'

function delay()
    local now = now_ms()
    next_slot_ms = next_slot_ms or now
    local slot = next_slot_ms
    next_slot_ms = next_slot_ms + interval_ms
    return math.max(0, math.floor(slot - now + 0.5))
end

function request()
    counter = counter + 1
    return wrk.format("POST", "/v1/members/" .. member .. "/adjustments", {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
        ["Idempotency-Key"] = prefix .. "-" .. counter,
    }, body)
end
