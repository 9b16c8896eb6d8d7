-- Argo CD health of an mcp.toolregistry.io MCPTool (created by the operator for each tool an
-- MCPServer offers), read from its Ready condition.
--   Suspended   its server is suspended, or an override disabled the tool
--   Progressing no status yet, or being deleted
--   Degraded    its server is missing or not ready
--   Healthy     Ready=True
local hs = {}

local ready = nil
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Ready" then
      ready = c
    end
  end
end

if obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Deleting"
  if obj.status ~= nil and obj.status.conditions ~= nil then
    for _, c in ipairs(obj.status.conditions) do
      if c.type == "DeletionBlocked" and c.status == "True" then
        hs.message = c.message
      end
    end
  end
  return hs
end

if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator"
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
elseif ready.reason == "ServerSuspended" or ready.reason == "ToolDisabled" then
  hs.status = "Suspended"
elseif ready.reason == "ServerNotFound" or ready.reason == "ServerNotReady" then
  hs.status = "Degraded"
else
  hs.status = "Progressing"
end
hs.message = ready.message
return hs
