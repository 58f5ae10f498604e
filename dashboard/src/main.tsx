import { render } from "preact"
import { Store } from "./store.js"
import { App } from "./ui/App.js"

const store = new Store()
render(<App store={store} />, document.getElementById("app")!)
void store.start()
