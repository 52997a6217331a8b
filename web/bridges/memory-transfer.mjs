// Memory export and import for the Memory panel (pyapp/llmos/ui/memory.py). The JSONL goes
// straight between the browser and the OS worker: an export holds every vector (megabytes),
// which has no business in the UI's MicroPython heap. Both resolve to the OS reply as JSON text,
// with the export's text replaced by a summary.
window.llmosMemoryFiles = {
  async exportDownload() {
    const reply = await window.llmos.request("memory.export", {});
    if (!reply.ok) return JSON.stringify(reply);
    const { name, jsonl } = reply.result;
    const blob = new Blob([jsonl], { type: "application/x-ndjson" });
    const url = URL.createObjectURL(blob);
    const link = Object.assign(document.createElement("a"), { href: url, download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    const records = jsonl.split("\n").filter((line) => line.trim()).length - 1; // less the header
    return JSON.stringify({ ok: true, result: { name, records, bytes: blob.size } });
  },
  async importFile(file) {
    const jsonl = await file.text();
    return JSON.stringify(await window.llmos.request("memory.import", { jsonl }));
  },
};
