// Compiles a .wat file to .wasm with wabt (npm): node compile.mjs IN.wat OUT.wasm
import { readFileSync, writeFileSync } from "node:fs";
import wabtFactory from "wabt";

const [input, output] = process.argv.slice(2);
const wabt = await wabtFactory();
const module = wabt.parseWat(input, readFileSync(input, "utf8"), { simd: true });
module.validate();
writeFileSync(output, Buffer.from(module.toBinary({}).buffer));
