import { answer } from "./index.ts";
console.log(answer);
