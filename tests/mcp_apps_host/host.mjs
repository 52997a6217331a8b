// The test host's logic: what any MCP Apps host does with a server, on the official library.
//
// window.mcpHost.connect(url, sandboxUrl) connects the SDK client over Streamable HTTP and lists
// the tools; show(toolName) reads the tool's ui:// resource, loads the sandbox proxy (another
// origin), connects an AppBridge to it, hands it the view's HTML, waits for the view's
// ui/notifications/initialized, then calls the tool and sends the view its input and result;
// close(toolName) tears it down. Tool calls the view makes go through the bridge to the server
// (AppBridge forwards them).
import {
  AppBridge,
  PostMessageTransport,
  RESOURCE_MIME_TYPE,
  getToolUiResourceUri,
} from "@modelcontextprotocol/ext-apps/app-bridge";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

const HOST_INFO = { name: "llmos-test-host", version: "1.0.0" };
const INIT_TIMEOUT_MS = 10_000;

let client = null;
let sandboxUrl = null;
const tools = new Map();
const views = new Map(); // tool name -> { bridge, frame, logs, initialized }

async function connect(url, sandbox) {
  sandboxUrl = sandbox;
  client = new Client(HOST_INFO, {
    capabilities: { extensions: { "io.modelcontextprotocol/ui": { mimeTypes: [RESOURCE_MIME_TYPE] } } },
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  const listed = await client.listTools();
  tools.clear();
  for (const tool of listed.tools) tools.set(tool.name, tool);
  return {
    server: client.getServerVersion(),
    tools: listed.tools.map((tool) => ({ name: tool.name, resourceUri: getToolUiResourceUri(tool) ?? null })),
  };
}

// The view's HTML and its _meta.ui, as the spec says a host reads them.
async function readUiResource(uri) {
  const { contents } = await client.readResource({ uri });
  if (contents.length !== 1) throw new Error(`${uri}: ${contents.length} contents, expected 1`);
  const [content] = contents;
  if (content.mimeType !== RESOURCE_MIME_TYPE) throw new Error(`${uri}: unsupported MIME type ${content.mimeType}`);
  const html = "blob" in content ? atob(content.blob) : content.text;
  return { html, mimeType: content.mimeType, meta: content._meta?.ui ?? null };
}

function loadSandbox(frame, csp) {
  const url = new URL(sandboxUrl);
  if (csp) url.searchParams.set("csp", JSON.stringify(csp));
  frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-forms");
  const ready = new Promise((resolve) => {
    const listener = ({ source, data }) => {
      if (source === frame.contentWindow && data?.method === "ui/notifications/sandbox-proxy-ready") {
        removeEventListener("message", listener);
        resolve();
      }
    };
    addEventListener("message", listener);
  });
  frame.src = url.href;
  return ready;
}

async function show(name) {
  const tool = tools.get(name);
  if (!tool) throw new Error(`No tool ${name}`);
  const uri = getToolUiResourceUri(tool);
  if (!uri) throw new Error(`${name} has no _meta.ui.resourceUri`);
  const resource = await readUiResource(uri);

  const box = document.createElement("section");
  box.className = "app";
  box.dataset.tool = name;
  const frame = document.createElement("iframe");
  frame.title = name;
  box.append(frame);
  document.getElementById("apps").append(box);
  await loadSandbox(frame, resource.meta?.csp);

  const caps = client.getServerCapabilities();
  const bridge = new AppBridge(
    client,
    HOST_INFO,
    { openLinks: {}, serverTools: caps.tools, serverResources: caps.resources, logging: {} },
    { hostContext: { theme: "light", displayMode: "inline", availableDisplayModes: ["inline"],
      containerDimensions: { width: 640, height: 320 }, toolInfo: { tool } } },
  );
  const view = { bridge, frame, logs: [] };
  views.set(name, view);
  bridge.onloggingmessage = (params) => view.logs.push(params);
  const initialized = new Promise((resolve, reject) => {
    bridge.oninitialized = resolve;
    setTimeout(() => reject(new Error(`${name}: no ui/notifications/initialized within ${INIT_TIMEOUT_MS} ms`)), INIT_TIMEOUT_MS);
  });
  await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
  await bridge.sendSandboxResourceReady({ html: resource.html, csp: resource.meta?.csp, permissions: resource.meta?.permissions });
  await initialized;

  await bridge.sendToolInput({ arguments: {} });
  const result = await client.callTool({ name, arguments: {} });
  await bridge.sendToolResult(result);
  return {
    uri,
    mimeType: resource.mimeType,
    meta: resource.meta,
    app: bridge.getAppVersion() ?? null,
    appCapabilities: bridge.getAppCapabilities() ?? null,
    result,
  };
}

// Tears the view down as the spec says: ui/resource-teardown first, and the frame goes once the
// view answered. Resolves to the view's answer.
async function close(name) {
  const view = views.get(name);
  const answer = await view.bridge.teardownResource({}, { timeout: INIT_TIMEOUT_MS });
  await view.bridge.close();
  view.frame.parentElement.remove();
  views.delete(name);
  return answer;
}

const logs = (name) => views.get(name)?.logs ?? [];

window.mcpHost = { connect, show, close, logs };
window.dispatchEvent(new Event("mcp-host-ready"));
