/** The tutorial's hello world: a type of our own, an item of it, and the item read back from the Pod. */
import { defineItem } from '@pod/client';
import { PluginBase } from '../../src/index.js';

/** A type of our own: its name, and its properties with their value types. */
export class Dog extends defineItem('Dog', { name: 'Text', age: 'Integer' }) {}

export default class HelloWorld extends PluginBase {
  // PluginBase adds these types to the Pod's schema before run() starts
  static override readonly itemClasses = [Dog];

  override async run() {
    const dog = await this.client.create(new Dog({ name: 'bob', age: 3 }));
    const dogFromDb = await this.client.get(dog.id);
    console.log(String(dogFromDb));
  }
}
